namespace Optimizer.Engine.Evaluation;

/// <summary>Progress of an evaluation, reported after each batch.</summary>
public readonly record struct EvalProgress(int WindowsDone, int WindowsTotal, long TokensScored, TimeSpan Elapsed);
