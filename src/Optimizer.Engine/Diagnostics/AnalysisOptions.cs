using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics;

/// <summary>How <see cref="AnalysisRunner"/> runs the calibration and what it looks for.</summary>
public sealed record AnalysisOptions
{
    /// <summary>Massive-activation thresholds.</summary>
    public MassiveActivationOptions MassiveActivations { get; init; } = new();

    /// <summary>Census entries kept per site (manifest <c>top_k</c>, default 16; the census shows the first 4).</summary>
    public int CensusTopK { get; init; } = 16;

    /// <summary>
    /// Largest-|x| entries the statistics keep per site while running (default 64). MAs are found among them; when a
    /// site's list is full and its smallest entry still passes the magnitude test, that site is measured again with a
    /// 4× larger list (up to <see cref="MaxStatisticsTopK"/>), so no entry above the threshold is missed.
    /// </summary>
    public int StatisticsTopK { get; init; } = 64;

    /// <summary>Upper bound for the re-measurement's list size (default 4096).</summary>
    public int MaxStatisticsTopK { get; init; } = 4096;

    /// <summary>Calibration sequences per forward pass (default 4).</summary>
    public int BatchSize { get; init; } = 4;

    /// <summary>
    /// Also accumulate, at the inputs of the linear weights (attn.y2, attn.out, y2, y6), the per-channel float64 sums of x
    /// and x² that an importance matrix needs (<see cref="ImportanceCollection.FromAnalysis"/>), fused into the channel
    /// pass of the statistics. Default false: the statistics cost what they did before.
    /// </summary>
    public bool ImportanceMatrix { get; init; }

    /// <summary>Device and layer streaming for the model.</summary>
    public ModelOptions Model { get; init; } = new();

    /// <summary>Checks the values; throws <see cref="OptimizerException"/> (<see cref="ErrorCodes.AnalysisOptionInvalid"/>).</summary>
    public void Validate()
    {
        MassiveActivations.Validate();
        if (CensusTopK < 1) Fail($"top_k must be at least 1, not {CensusTopK}.");
        if (StatisticsTopK < Math.Max(CensusTopK, 4)) Fail($"The statistics top-k ({StatisticsTopK}) must be at least the census top_k ({CensusTopK}) and 4.");
        if (MaxStatisticsTopK < StatisticsTopK) Fail($"The largest statistics top-k ({MaxStatisticsTopK}) is below the statistics top-k ({StatisticsTopK}).");
        if (BatchSize < 1) Fail($"The batch size must be at least 1, not {BatchSize}.");
    }

    private static void Fail(string message) => throw new OptimizerException(ErrorCodes.AnalysisOptionInvalid, message);
}
