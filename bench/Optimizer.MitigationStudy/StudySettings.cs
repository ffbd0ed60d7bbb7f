namespace Optimizer.MitigationStudy;

/// <summary>
/// The study's knobs (all recorded in the results file): evaluation and calibration token budgets per model kind,
/// calibration sequence length (the evaluation windows are one token shorter, BOS added), batch size, seed, the
/// mitigation list (the pipeline's names) and the clamp's perplexity budget.
/// </summary>
public sealed record StudySettings
{
    /// <summary>Held-out tokens scored on the trained fixture (the first N tokens of the held-out text).</summary>
    public int FixtureEvalTokens { get; init; } = 8192;

    /// <summary>Self-sampled tokens scored on each synthetic model.</summary>
    public int SyntheticEvalTokens { get; init; } = 4096;

    /// <summary>Calibration tokens (both kinds).</summary>
    public int CalibrationTokens { get; init; } = 2048;

    /// <summary>Tokens per calibration sequence; evaluation windows hold one fewer text token plus BOS.</summary>
    public int SequenceLength { get; init; } = 128;

    /// <summary>Sequences per forward pass.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Calibration seed (the evaluation text is sampled with seed + 1).</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>The mitigations (<c>all</c> = every exact one plus the clamp, gated by <see cref="MaxPplIncrease"/>).</summary>
    public string Mitigations { get; init; } = "all";

    /// <summary>The clamp is kept only when it raises held-out perplexity by at most this fraction.</summary>
    public double MaxPplIncrease { get; init; } = 0.01;
}
