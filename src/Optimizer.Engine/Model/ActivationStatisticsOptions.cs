namespace Optimizer.Engine.Model;

/// <summary>What <see cref="ActivationStatistics"/> records.</summary>
public sealed record ActivationStatisticsOptions
{
    /// <summary>Largest-|x| entries kept per (layer, site); default 16.</summary>
    public int TopK { get; init; } = 16;

    /// <summary>Sites to record; null (default) records every site.</summary>
    public IReadOnlySet<ProbeSite>? Sites { get; init; }

    /// <summary>Layers to record; null (default) records every layer.</summary>
    public IReadOnlySet<int>? Layers { get; init; }

    /// <summary>
    /// Sites whose per-token median |x| is computed (the costliest reduction: a selection per token); null (default)
    /// computes it everywhere.
    /// </summary>
    public IReadOnlySet<ProbeSite>? TokenMedianSites { get; init; }

    /// <summary>
    /// Sites where the per-channel float64 sums of x and x² are also accumulated, in the same pass as the per-channel
    /// max and mean |x| (what an importance matrix needs at the inputs of the linear layers); null or empty (default):
    /// none, and the channel pass costs exactly what it did without them.
    /// </summary>
    public IReadOnlySet<ProbeSite>? ChannelMomentSites { get; init; }

    /// <summary>The largest allowed <see cref="ChunkElements"/>: 2^24, so float32 histogram counts stay exact.</summary>
    public const long MaxChunkElements = 1L << 24;

    /// <summary>Upper bound on elements reduced at once (1 … 2^24); larger activations are processed in row chunks.</summary>
    public long ChunkElements { get; init; } = MaxChunkElements;
}
