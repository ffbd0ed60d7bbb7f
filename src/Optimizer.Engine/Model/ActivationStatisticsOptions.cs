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

    /// <summary>Upper bound on elements reduced at once; larger activations are processed in row chunks (memory bound).</summary>
    public long ChunkElements { get; init; } = 1L << 24;
}
