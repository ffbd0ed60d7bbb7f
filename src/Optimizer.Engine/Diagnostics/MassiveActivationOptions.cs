namespace Optimizer.Engine.Diagnostics;

/// <summary>Massive-activation thresholds (manifest <c>options.ma</c>); every one is recorded in the manifest.</summary>
public sealed record MassiveActivationOptions
{
    /// <summary>Absolute or scale-free thresholds (default absolute).</summary>
    public MassiveActivationMode Mode { get; init; } = MassiveActivationMode.Absolute;

    /// <summary>Absolute mode: |x| must exceed this (default 100).</summary>
    public double AbsoluteThreshold { get; init; } = 100;

    /// <summary>Absolute mode: |x| must be at least this many times the token's median |x| at the site (default 1000).</summary>
    public double RelativeThreshold { get; init; } = 1000;

    /// <summary>Scale-free mode: |x| must be at least this many times the site's median per-token max |x| (default 8).</summary>
    public double ScaleFreeFactor { get; init; } = 8;

    /// <summary>Scale-free mode: |x| must be at least this many times the token's median |x| (default 20).</summary>
    public double RelativeThresholdScaleFree { get; init; } = 20;

    /// <summary>Entries reaching this fraction of both thresholds without passing them are near-threshold candidates (default 0.5).</summary>
    public double NearThresholdFraction { get; init; } = 0.5;

    /// <summary>At most this many near-threshold candidates are reported (default 64).</summary>
    public int MaxNearThreshold { get; init; } = 64;

    /// <summary>A down_proj entry is a super weight when its contribution is at least this share of y7 on the birth token (default 0.25).</summary>
    public double SuperWeightMinShare { get; init; } = 0.25;

    /// <summary>The manifest id of <see cref="Mode"/>: <c>absolute</c> or <c>scale-free</c>.</summary>
    public string ModeId => Mode == MassiveActivationMode.Absolute ? "absolute" : "scale-free";

    /// <summary>Checks the values; throws <see cref="OptimizerException"/> (<see cref="ErrorCodes.AnalysisOptionInvalid"/>).</summary>
    public void Validate()
    {
        Positive(AbsoluteThreshold, "ma.absolute_threshold");
        Positive(RelativeThreshold, "ma.relative_threshold");
        Positive(ScaleFreeFactor, "ma.scale_free_factor");
        Positive(RelativeThresholdScaleFree, "ma.relative_threshold_scale_free");
        if (!(NearThresholdFraction > 0 && NearThresholdFraction <= 1))
            throw new OptimizerException(ErrorCodes.AnalysisOptionInvalid, $"ma.near_threshold_fraction must be in (0, 1], not {NearThresholdFraction}.");
        if (!(SuperWeightMinShare > 0 && SuperWeightMinShare <= 1))
            throw new OptimizerException(ErrorCodes.AnalysisOptionInvalid, $"The super-weight share must be in (0, 1], not {SuperWeightMinShare}.");
        if (MaxNearThreshold < 0)
            throw new OptimizerException(ErrorCodes.AnalysisOptionInvalid, $"The near-threshold limit must not be negative, not {MaxNearThreshold}.");
    }

    private static void Positive(double value, string name)
    {
        if (!(value > 0) || double.IsInfinity(value))
            throw new OptimizerException(ErrorCodes.AnalysisOptionInvalid, $"{name} must be a positive number, not {value}.");
    }
}
