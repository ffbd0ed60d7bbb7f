namespace Optimizer.Engine.Evaluation;

/// <summary>How <see cref="PerplexityEvaluator"/> cuts and batches the text.</summary>
public sealed record PerplexityOptions
{
    /// <summary>Text tokens per window (default 512). With a BOS token the model input is one longer.</summary>
    public int Context { get; init; } = 512;

    /// <summary>Windows per forward pass (default 4).</summary>
    public int BatchSize { get; init; } = 4;

    /// <summary>
    /// Whether to prefix each window with the model's BOS token (<c>bos_token_id</c> of the config); default true.
    /// Ignored when the config has no BOS token.
    /// </summary>
    public bool PrefixBos { get; init; } = true;
}
