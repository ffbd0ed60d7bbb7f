using static TorchSharp.torch;

namespace Optimizer.Engine.Model;

/// <summary>
/// A streaming <see cref="IActivationProbe"/> that keeps, per (layer, site), the <see cref="SiteStatistics"/>: token
/// count, max |x|, per-channel max and mean |x| (and, at <see cref="ActivationStatisticsOptions.ChannelMomentSites"/>, the
/// per-channel sums of x and x²), per-token max and median |x|, the top-k entries and a log-binned |x| histogram. Reductions run in managed code over the activation's CPU memory, in parallel over fixed partitions (an
/// activation on another device is copied to the CPU once). Deterministic for the same input, whatever the thread count.
/// Not thread-safe.
/// </summary>
public sealed class ActivationStatistics : IActivationProbe
{
    private readonly ActivationStatisticsOptions _options;
    private readonly SortedDictionary<(int Layer, ProbeSite Site), SiteStatistics> _sites = new();

    /// <summary>Creates an empty accumulator.</summary>
    public ActivationStatistics(ActivationStatisticsOptions? options = null)
    {
        _options = options ?? new ActivationStatisticsOptions();
        if (_options.TopK < 1) throw new ArgumentOutOfRangeException(nameof(options), _options.TopK, "TopK must be at least 1.");
        if (_options.ChunkElements is < 1 or > ActivationStatisticsOptions.MaxChunkElements)
            throw new ArgumentOutOfRangeException(nameof(options), _options.ChunkElements, $"ChunkElements must be between 1 and {ActivationStatisticsOptions.MaxChunkElements}.");
    }

    /// <summary>Every recorded (layer, site), ordered by layer, then site in forward order.</summary>
    public IEnumerable<SiteStatistics> Sites => _sites.Values;

    /// <inheritdoc />
    public bool Wants(int layer, ProbeSite site)
        => (_options.Sites is null || _options.Sites.Contains(site)) && (_options.Layers is null || _options.Layers.Contains(layer));

    /// <inheritdoc />
    public void Observe(in ProbeContext context, Tensor activation)
    {
        int channels = context.ChannelsOf(activation);
        var key = (context.Layer, context.Site);
        if (!_sites.TryGetValue(key, out var stats))
        {
            stats = new SiteStatistics(context.Layer, context.Site, channels, _options.TopK,
                _options.TokenMedianSites is null || _options.TokenMedianSites.Contains(context.Site),
                _options.ChannelMomentSites?.Contains(context.Site) == true);
            _sites.Add(key, stats);
        }
        else if (stats.Channels != channels)
        {
            throw new ArgumentException($"Layer {context.Layer} site {ProbeSites.Id(context.Site)} had {stats.Channels} channels, now {channels}.", nameof(activation));
        }
        using var noGrad = no_grad();
        // The reductions read CPU memory directly: a CPU float32 activation is used in place, anything else is copied once.
        Tensor floats = activation.dtype == ScalarType.Float32 && activation.device_type == TorchSharp.DeviceType.CPU && activation.is_contiguous()
            ? activation
            : activation.to(ScalarType.Float32, CPU).contiguous();
        try
        {
            int rowsPerChunk = (int)Math.Max(1, Math.Min(context.Rows, _options.ChunkElements / channels));
            for (int start = 0; start < context.Rows; start += rowsPerChunk)
            {
                int count = Math.Min(rowsPerChunk, context.Rows - start);
                using Tensor rows = floats.narrow(0, start, count);
                stats.Add(context, rows, start);
            }
        }
        finally
        {
            if (!ReferenceEquals(floats, activation)) floats.Dispose();
        }
    }

    /// <summary>The statistics of (<paramref name="layer"/>, <paramref name="site"/>); throws when nothing was observed there.</summary>
    public SiteStatistics Get(int layer, ProbeSite site)
        => _sites.TryGetValue((layer, site), out var stats)
            ? stats
            : throw new KeyNotFoundException($"No activations were recorded for layer {layer}, site {ProbeSites.Id(site)}.");

    /// <summary>The statistics of (<paramref name="layer"/>, <paramref name="site"/>), or false when nothing was observed.</summary>
    public bool TryGet(int layer, ProbeSite site, out SiteStatistics? statistics) => _sites.TryGetValue((layer, site), out statistics);
}
