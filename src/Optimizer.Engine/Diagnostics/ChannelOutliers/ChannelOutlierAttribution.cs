using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics.ChannelOutliers;

/// <summary>
/// Attributes the channel-wise outliers of one decoder layer (PAPER-NOTES D3/D4). Rules, by site:
/// <list type="bullet">
/// <item>attn.y2 / y2 (norm outputs): <c>gamma</c> when |γ_j| / median|γ| &gt; gamma.ratio and the pre-γ input
/// (attn.norm_in / norm_in) is flat in j, i.e. channel j is not itself a CO there; <c>residual</c> when the pre-γ input
/// is a CO in j (the residual stream brings it); else <c>unknown</c>.</item>
/// <item>attn.q: <c>otc</c> when row j is a reading-A OTC; else <c>otc</c> when a reading-B column i explains it,
/// |W_q[j, i]| · median_t |attn.y2[t, i]| ≥ <see cref="ChannelOutlierOptions.ColumnExplanationShare"/> ×
/// median_t |attn.q[t, j]| (lowest such i); else <c>unknown</c>.</item>
/// <item>attn.norm_in / norm_in, and the residual sites attn.y1 / y1 / y8 when examined: <c>residual</c> when the
/// residual site feeding them (y8 of the previous layer, attn.y1, y1) is a CO in the same channel; else
/// <c>unknown</c>. A massive activation lives on a few tokens and never moves a median over tokens, so only COs of the
/// residual stream can explain a CO.</item>
/// <item>every other site: <c>unknown</c>.</item>
/// </list>
/// </summary>
public sealed class ChannelOutlierAttribution
{
    private readonly int _layer;
    private readonly ChannelMagnitudes _magnitudes;
    private readonly ChannelOutlierOptions _options;
    private readonly double[] _attnGammaRatios;
    private readonly double[] _ffnGammaRatios;
    private readonly float[] _queryWeight;
    private readonly Dictionary<int, OutlierTriggeringChannel> _rowOtcs;
    private readonly IReadOnlyList<OutlierTriggeringChannel> _columnOtcs;
    private readonly Dictionary<(int Layer, ProbeSite Site), bool[]> _coMasks = new();

    /// <summary>Creates the attribution context of <paramref name="layer"/>.</summary>
    /// <param name="layer">0-based decoder layer.</param>
    /// <param name="magnitudes">Per-channel histograms of the calibration run.</param>
    /// <param name="options">Thresholds.</param>
    /// <param name="attnGamma">γ of input_layernorm.</param>
    /// <param name="ffnGamma">γ of post_attention_layernorm.</param>
    /// <param name="queryWeight">W_q, [q channels, hidden] row-major.</param>
    /// <param name="triggeringChannels">The layer's OTCs (both readings).</param>
    public ChannelOutlierAttribution(int layer, ChannelMagnitudes magnitudes, ChannelOutlierOptions options,
        ReadOnlySpan<float> attnGamma, ReadOnlySpan<float> ffnGamma, float[] queryWeight, IEnumerable<OutlierTriggeringChannel> triggeringChannels)
    {
        ArgumentNullException.ThrowIfNull(magnitudes);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(queryWeight);
        ArgumentNullException.ThrowIfNull(triggeringChannels);
        _layer = layer;
        _magnitudes = magnitudes;
        _options = options;
        _attnGammaRatios = Statistics.RatiosToMedian(attnGamma);
        _ffnGammaRatios = Statistics.RatiosToMedian(ffnGamma);
        _queryWeight = queryWeight;
        var otcs = triggeringChannels.ToList();
        _rowOtcs = otcs.Where(o => o.Reading == OtcReading.Row).ToDictionary(o => o.Index);
        _columnOtcs = otcs.Where(o => o.Reading == OtcReading.Column).OrderBy(o => o.Index).ToList();
    }

    /// <summary>
    /// The residual site whose CO explains a CO at <paramref name="site"/> as carried in, and its layer offset (−1:
    /// previous layer); null for sites not fed directly by the residual stream.
    /// </summary>
    public static (ProbeSite Site, int LayerOffset)? ResidualSourceOf(ProbeSite site) => site switch
    {
        ProbeSite.AttnY1 => (ProbeSite.Y8, -1),
        ProbeSite.AttnNormIn => (ProbeSite.AttnY1, 0),
        ProbeSite.Y1 => (ProbeSite.AttnY1, 0),
        ProbeSite.NormIn => (ProbeSite.Y1, 0),
        ProbeSite.Y8 => (ProbeSite.Y1, 0),
        _ => null,
    };

    /// <summary>The site of <see cref="ResidualSourceOf"/>, or null.</summary>
    public static ProbeSite? ResidualSource(ProbeSite site) => ResidualSourceOf(site)?.Site;

    /// <summary>The cause of a CO at (<paramref name="site"/>, <paramref name="channel"/>) with its γ ratio or OTC.</summary>
    public (ChannelOutlierCause Cause, double? GammaRatio, OutlierTriggeringChannel? Otc) Explain(ProbeSite site, int channel, double medianAbs)
    {
        switch (site)
        {
            case ProbeSite.AttnY2:
            case ProbeSite.Y2:
            {
                bool attention = site == ProbeSite.AttnY2;
                double gammaRatio = (attention ? _attnGammaRatios : _ffnGammaRatios)[channel];
                bool preGammaOutlier = IsOutlier(_layer, attention ? ProbeSite.AttnNormIn : ProbeSite.NormIn, channel);
                if (preGammaOutlier) return (ChannelOutlierCause.Residual, null, null);
                if (gammaRatio > _options.GammaRatio) return (ChannelOutlierCause.Gamma, gammaRatio, null);
                return (ChannelOutlierCause.Unknown, null, null);
            }
            case ProbeSite.AttnQ:
                if (_rowOtcs.TryGetValue(channel, out var row)) return (ChannelOutlierCause.Otc, null, row);
                if (ExplainingColumn(channel, medianAbs) is { } column) return (ChannelOutlierCause.Otc, null, column);
                return (ChannelOutlierCause.Unknown, null, null);
            default:
                if (ResidualSourceOf(site) is { } source && IsOutlier(_layer + source.LayerOffset, source.Site, channel))
                    return (ChannelOutlierCause.Residual, null, null);
                return (ChannelOutlierCause.Unknown, null, null);
        }
    }

    /// <summary>Whether channel <paramref name="channel"/> at (<paramref name="layer"/>, <paramref name="site"/>) passes the CO rule; false when not recorded.</summary>
    public bool IsOutlier(int layer, ProbeSite site, int channel)
    {
        if (!_coMasks.TryGetValue((layer, site), out var mask))
        {
            mask = _magnitudes.TryGet(layer, site, out var histogram) ? OutlierMask(histogram!, _options.CoRatio) : Array.Empty<bool>();
            _coMasks.Add((layer, site), mask);
        }
        return channel < mask.Length && mask[channel];
    }

    /// <summary>Per channel: median_t |x[t, j]| ≥ <paramref name="ratio"/> × the lower median over channels (all false when that median is 0).</summary>
    public static bool[] OutlierMask(ChannelHistogram histogram, double ratio)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        double[] medians = histogram.Medians();
        double typical = Statistics.LowerMedian(medians);
        var mask = new bool[medians.Length];
        if (!(typical > 0)) return mask;
        for (int j = 0; j < medians.Length; j++) mask[j] = medians[j] >= ratio * typical;
        return mask;
    }

    private OutlierTriggeringChannel? ExplainingColumn(int row, double medianAbs)
    {
        if (_columnOtcs.Count == 0 || !_magnitudes.TryGet(_layer, ProbeSite.AttnY2, out var input)) return null;
        int hidden = input!.Channels;
        if ((long)(row + 1) * hidden > _queryWeight.Length) return null;
        foreach (var column in _columnOtcs)
        {
            double share = Math.Abs(_queryWeight[(long)row * hidden + column.Index]) * input.Median(column.Index);
            if (share >= ChannelOutlierOptions.ColumnExplanationShare * medianAbs) return column;
        }
        return null;
    }
}
