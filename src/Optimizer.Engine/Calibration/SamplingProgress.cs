namespace Optimizer.Engine.Calibration;

/// <summary>Progress of self-sampling: tokens generated so far out of all to generate.</summary>
public sealed record SamplingProgress(long Done, long Total);
