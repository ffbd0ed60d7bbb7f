namespace Optimizer.Engine.Calibration;

/// <summary>
/// Where the calibration tokens come from and how they are cut. With no <see cref="Paths"/> the text is sampled from
/// the model itself (<see cref="CalibrationSourceKind.SelfSampled"/>), seeded, so analysis works with no data.
/// </summary>
public sealed record CalibrationOptions
{
    /// <summary>Default <see cref="SequenceLength"/>.</summary>
    public const int DefaultSequenceLength = 128;

    /// <summary>Default <see cref="Tokens"/>.</summary>
    public const int DefaultTokens = 1024;

    /// <summary>Default <see cref="Seed"/>.</summary>
    public const ulong DefaultSeed = 42;

    /// <summary>Text files or folders (every <c>*.txt</c> below them, sorted); empty (default) = self-sampled text.</summary>
    public IReadOnlyList<string> Paths { get; init; } = Array.Empty<string>();

    /// <summary>Tokens per sequence, BOS included (default 128; at least 2).</summary>
    public int SequenceLength { get; init; } = DefaultSequenceLength;

    /// <summary>Token budget N: at most N / <see cref="SequenceLength"/> sequences (at least one) are used (default 1024).</summary>
    public int Tokens { get; init; } = DefaultTokens;

    /// <summary>Self-sampling: the seed of the sampler's PRNG (default 42).</summary>
    public ulong Seed { get; init; } = DefaultSeed;

    /// <summary>Self-sampling: softmax temperature (default 1; &gt; 0).</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Self-sampling: only the <c>TopK</c> most likely tokens are drawn from (default 40; ≥ 1).</summary>
    public int TopK { get; init; } = 40;

    /// <summary>Self-sampling: sequences generated together in one batch (default 8; ≥ 1).</summary>
    public int SampleBatchSize { get; init; } = 8;

    /// <summary>
    /// Self-sampling: tokens the model sees per sampling step (default 32; ≥ 2): the first token (BOS) and the latest
    /// ones. Sampling has no KV cache, so this bounds its cost to about <see cref="Tokens"/> × SampleContext token
    /// forwards.
    /// </summary>
    public int SampleContext { get; init; } = 32;

    /// <summary>Number of sequences the budget allows.</summary>
    public int SequenceBudget => Math.Max(1, Tokens / Math.Max(1, SequenceLength));

    /// <summary>Checks the values; throws <see cref="OptimizerException"/> (<see cref="ErrorCodes.CalibrationOptionInvalid"/>).</summary>
    public void Validate()
    {
        if (SequenceLength < 2) Fail($"The calibration sequence length must be at least 2 tokens, not {SequenceLength}.");
        if (Tokens < SequenceLength) Fail($"The calibration token budget ({Tokens}) is smaller than one sequence ({SequenceLength} tokens).");
        if (!(Temperature > 0) || double.IsInfinity(Temperature)) Fail($"The sampling temperature must be a positive number, not {Temperature}.");
        if (TopK < 1) Fail($"The sampling top-k must be at least 1, not {TopK}.");
        if (SampleBatchSize < 1) Fail($"The sampling batch size must be at least 1, not {SampleBatchSize}.");
        if (SampleContext < 2) Fail($"The sampling context must be at least 2 tokens, not {SampleContext}.");
        if (Paths.Any(string.IsNullOrWhiteSpace)) Fail("A calibration path is empty.");
    }

    private static void Fail(string message) => throw new OptimizerException(ErrorCodes.CalibrationOptionInvalid, message);
}
