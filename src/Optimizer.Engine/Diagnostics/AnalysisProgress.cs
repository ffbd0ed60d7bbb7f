namespace Optimizer.Engine.Diagnostics;

/// <summary>Progress of an analysis run.</summary>
/// <param name="Stage"><c>sampling</c> (self-sampled calibration), <c>calibrating</c> (probed forward passes), <c>remeasuring</c> (larger top-k for saturated sites) or <c>diagnosing</c>.</param>
/// <param name="Done">Units done in this stage (tokens sampled, sequences run).</param>
/// <param name="Total">Units in this stage.</param>
/// <param name="Elapsed">Time since the run started.</param>
public sealed record AnalysisProgress(string Stage, long Done, long Total, TimeSpan Elapsed);
