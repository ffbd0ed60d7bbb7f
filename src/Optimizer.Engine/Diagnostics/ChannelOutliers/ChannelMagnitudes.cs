using Optimizer.Engine.Model;
using static TorchSharp.torch;

namespace Optimizer.Engine.Diagnostics.ChannelOutliers;

/// <summary>
/// A streaming <see cref="IActivationProbe"/> that keeps a <see cref="ChannelHistogram"/> (per-channel |x| distribution
/// over tokens) for chosen sites of every (or chosen) layer, for the channel-wise outlier rule. Add it to the calibration
/// forward next to <see cref="ActivationStatistics"/> (e.g. with <see cref="CompositeProbe"/>). Deterministic; not
/// thread-safe.
/// </summary>
public sealed class ChannelMagnitudes : IActivationProbe
{
    private const long ChunkElements = 1L << 22;

    private readonly HashSet<ProbeSite> _sites;
    private readonly IReadOnlySet<int>? _layers;
    private readonly SortedDictionary<(int Layer, ProbeSite Site), ChannelHistogram> _histograms = new();

    /// <summary>Records <paramref name="sites"/> in <paramref name="layers"/> (null: every layer).</summary>
    public ChannelMagnitudes(IEnumerable<ProbeSite> sites, IReadOnlySet<int>? layers = null)
    {
        ArgumentNullException.ThrowIfNull(sites);
        _sites = new HashSet<ProbeSite>(sites);
        _layers = layers;
    }

    /// <summary>A probe recording every site <see cref="ChannelOutlierAnalyzer"/> needs under <paramref name="options"/>.</summary>
    public static ChannelMagnitudes For(ChannelOutlierOptions options, IReadOnlySet<int>? layers = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ChannelMagnitudes(RequiredSites(options), layers);
    }

    /// <summary>
    /// The sites the analysis reads histograms of: the CO sites, the norm inputs and outputs (γ attribution), attn.q
    /// (reading A) and, for residual sites examined, the residual site feeding them (to tell carried-in from created).
    /// </summary>
    public static IReadOnlyList<ProbeSite> RequiredSites(ChannelOutlierOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sites = new SortedSet<ProbeSite>(options.Sites) { ProbeSite.AttnNormIn, ProbeSite.AttnY2, ProbeSite.AttnQ, ProbeSite.NormIn, ProbeSite.Y2 };
        foreach (var site in options.Sites)
        {
            if (ChannelOutlierAttribution.ResidualSource(site) is { } source) sites.Add(source);
        }
        return sites.ToArray();
    }

    /// <summary>Every recorded histogram, ordered by layer, then site in forward order.</summary>
    public IEnumerable<ChannelHistogram> Histograms => _histograms.Values;

    /// <inheritdoc />
    public bool Wants(int layer, ProbeSite site) => _sites.Contains(site) && (_layers is null || _layers.Contains(layer));

    /// <inheritdoc />
    public void Observe(in ProbeContext context, Tensor activation)
    {
        int channels = context.ChannelsOf(activation);
        var key = (context.Layer, context.Site);
        if (!_histograms.TryGetValue(key, out var histogram))
        {
            histogram = new ChannelHistogram(context.Layer, context.Site, channels);
            _histograms.Add(key, histogram);
        }
        else if (histogram.Channels != channels)
        {
            throw new ArgumentException($"Layer {context.Layer} site {ProbeSites.Id(context.Site)} had {histogram.Channels} channels, now {channels}.", nameof(activation));
        }
        using var noGrad = no_grad();
        int rowsPerChunk = (int)Math.Max(1, Math.Min(context.Rows, ChunkElements / channels));
        for (int start = 0; start < context.Rows; start += rowsPerChunk)
        {
            int count = Math.Min(rowsPerChunk, context.Rows - start);
            using Tensor rows = activation.narrow(0, start, count);
            histogram.Add(rows);
        }
    }

    /// <summary>The histogram of (<paramref name="layer"/>, <paramref name="site"/>), or false when nothing was observed there.</summary>
    public bool TryGet(int layer, ProbeSite site, out ChannelHistogram? histogram) => _histograms.TryGetValue((layer, site), out histogram);

    /// <summary>The histogram of (<paramref name="layer"/>, <paramref name="site"/>); throws when nothing was observed there.</summary>
    public ChannelHistogram Get(int layer, ProbeSite site)
        => _histograms.TryGetValue((layer, site), out var histogram)
            ? histogram
            : throw new KeyNotFoundException($"No channel magnitudes were recorded for layer {layer}, site {ProbeSites.Id(site)}.");
}
