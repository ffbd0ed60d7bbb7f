namespace Optimizer.Engine.Pipeline;

/// <summary>Progress of an optimize run: the stage, units done and total, and what a unit is.</summary>
/// <param name="Stage">
/// <c>sampling</c>, <c>calibrating</c>, <c>remeasuring</c>, <c>channels</c>, <c>diagnosing</c> (analysis),
/// <c>eval-text</c> (sampling the evaluation text), <c>verifying</c> (Δlogit of the exact transforms), <c>clamp-gate</c>,
/// <c>census-after</c>, <c>evaluating</c>, <c>writing</c> (weights, per layer).
/// </param>
/// <param name="Done">Units done in this stage.</param>
/// <param name="Total">Units in this stage.</param>
/// <param name="Unit"><c>tokens</c>, <c>sequences</c>, <c>windows</c>, <c>layers</c> or <c>steps</c>.</param>
/// <param name="Elapsed">Time since the run started.</param>
public sealed record OptimizeProgress(string Stage, long Done, long Total, string Unit, TimeSpan Elapsed);
