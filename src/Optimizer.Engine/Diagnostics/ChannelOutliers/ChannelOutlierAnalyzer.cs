using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics.ChannelOutliers;

/// <summary>
/// Channel-wise outliers, their attribution to γ / OTCs / the residual stream, the OTCs of W_q in both readings, and the
/// per-norm magnitude profiles (PAPER-NOTES D1 step 5, D3, D4; manifest <c>channel_outliers</c>,
/// <c>outlier_triggering_channels</c>, <c>profiles</c>). A pure function of the model's weights and the statistics of a
/// calibration run: run the calibration forward with an <see cref="ActivationStatistics"/> (it must record attn.norm_in,
/// attn.y2, norm_in and y2) and a <see cref="ChannelMagnitudes"/> from <see cref="ChannelMagnitudes.For"/>, then call
/// <see cref="Analyze"/>.
/// </summary>
/// <remarks>
/// CO rule <c>channel-median-ratio</c>: at each site of <see cref="ChannelOutlierOptions.Sites"/>, m_j is the lower
/// median over tokens of |x[t, j]| (from <see cref="ChannelHistogram"/>, within one 1/8-octave bin), M the lower median
/// over channels of the m_j, and channel j is a CO when m_j ≥ co.ratio × M; its <c>token_fraction</c> is the fraction of
/// tokens with |x[t, j]| ≥ co.ratio/2 × M. A site with M = 0 (mostly dead channels) reports none. Medians over tokens
/// ignore what happens on a few tokens, so a massive activation (one token, one channel) never makes a CO.
/// </remarks>
public static class ChannelOutlierAnalyzer
{
    /// <summary>Runs the analysis over every layer of <paramref name="config"/>.</summary>
    /// <exception cref="OptimizerException">Invalid options (<see cref="ErrorCodes.AnalysisOptionInvalid"/>) or a missing or misshapen weight.</exception>
    /// <exception cref="ArgumentException">The statistics lack a site the analysis needs.</exception>
    public static ChannelOutlierReport Analyze(ModelConfig config, ITensorSource weights, ActivationStatistics statistics,
        ChannelMagnitudes magnitudes, ChannelOutlierOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(statistics);
        ArgumentNullException.ThrowIfNull(magnitudes);
        options ??= new ChannelOutlierOptions();
        options.Validate();
        int hidden = config.HiddenSize, headDim = config.HeadDim;
        var sites = options.Sites.Distinct().OrderBy(s => s).ToArray();
        var outliers = new List<ChannelOutlier>();
        var otcs = new List<OutlierTriggeringChannel>();
        var profiles = new List<NormProfile>();
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            ct.ThrowIfCancellationRequested();
            float[] attnGamma = Model.NormScale.Effective(config, ReadTensor(weights, LlamaTensorNames.Name(TensorRole.AttnNorm, layer, config), hidden));
            float[] ffnGamma = Model.NormScale.Effective(config, ReadTensor(weights, LlamaTensorNames.Name(TensorRole.FfnNorm, layer, config), hidden));
            string queryName = LlamaTensorNames.Name(TensorRole.Q, layer);
            float[] query = ReadTensor(weights, queryName, (long)config.NumAttentionHeads * headDim * hidden);

            var layerOtcs = new List<OutlierTriggeringChannel>();
            layerOtcs.AddRange(QueryOutlierScorer.Rows(layer, queryName, Histogram(magnitudes, layer, ProbeSite.AttnQ), headDim, options.OtcRatio, config.RotaryDims));
            layerOtcs.AddRange(QueryOutlierScorer.Columns(layer, queryName, Histogram(magnitudes, layer, ProbeSite.AttnY2).Medians(), query, options.OtcRatio));
            otcs.AddRange(layerOtcs);

            var attribution = new ChannelOutlierAttribution(layer, magnitudes, options, attnGamma, ffnGamma, query, layerOtcs);
            foreach (var site in sites) outliers.AddRange(SiteOutliers(layer, site, Histogram(magnitudes, layer, site), options, attribution));

            profiles.Add(Profile(layer, NormPosition.Attention, statistics, attnGamma));
            profiles.Add(Profile(layer, NormPosition.Ffn, statistics, ffnGamma));
        }
        return new ChannelOutlierReport(options, outliers, otcs, profiles);
    }

    private static IEnumerable<ChannelOutlier> SiteOutliers(int layer, ProbeSite site, ChannelHistogram histogram,
        ChannelOutlierOptions options, ChannelOutlierAttribution attribution)
    {
        double[] medians = histogram.Medians();
        double typical = Statistics.LowerMedian(medians);
        if (!(typical > 0)) yield break;
        double level = options.CoRatio / 2 * typical;
        for (int j = 0; j < medians.Length; j++)
        {
            if (!(medians[j] >= options.CoRatio * typical)) continue;
            var (cause, gammaRatio, otc) = attribution.Explain(site, j, medians[j]);
            yield return new ChannelOutlier(layer, site, j, medians[j], medians[j] / typical, histogram.FractionAtLeast(j, level), cause, gammaRatio, otc);
        }
    }

    private static NormProfile Profile(int layer, NormPosition norm, ActivationStatistics statistics, float[] gamma)
    {
        bool attention = norm == NormPosition.Attention;
        float[] pre = Site(statistics, layer, attention ? ProbeSite.AttnNormIn : ProbeSite.NormIn).ChannelAbsMax.ToArray();
        float[] post = Site(statistics, layer, attention ? ProbeSite.AttnY2 : ProbeSite.Y2).ChannelAbsMax.ToArray();
        return new NormProfile(layer, norm, pre, post, gamma);
    }

    private static SiteStatistics Site(ActivationStatistics statistics, int layer, ProbeSite site) =>
        statistics.TryGet(layer, site, out var stats) && stats!.TokenCount > 0
            ? stats
            : throw new ArgumentException($"The activation statistics have nothing for layer {layer}, site {ProbeSites.Id(site)}; record it in the calibration run.", nameof(statistics));

    private static ChannelHistogram Histogram(ChannelMagnitudes magnitudes, int layer, ProbeSite site) =>
        magnitudes.TryGet(layer, site, out var histogram) && histogram!.TokenCount > 0
            ? histogram
            : throw new ArgumentException($"The channel magnitudes have nothing for layer {layer}, site {ProbeSites.Id(site)}; create the probe with ChannelMagnitudes.For(options).", nameof(magnitudes));

    private static float[] ReadTensor(ITensorSource weights, string name, long elements)
    {
        var info = weights.Find(name) ?? throw new OptimizerException(ErrorCodes.TensorMissing, $"The model has no tensor '{name}'.");
        if (info.ElementCount != elements)
            throw new OptimizerException(ErrorCodes.TensorShapeMismatch, $"Tensor '{name}' has {info.ElementCount} elements; the configuration implies {elements}.", info.File);
        return TensorData.ReadFloat32(weights, info);
    }
}
