namespace Optimizer.Engine.Evaluation;

/// <summary>The outcome of a perplexity evaluation.</summary>
public sealed record PerplexityResult
{
    /// <summary>Tokens whose next-token probability was scored.</summary>
    public required long TokensScored { get; init; }

    /// <summary>Windows evaluated.</summary>
    public required int Windows { get; init; }

    /// <summary>Mean negative log-likelihood, nats per scored token.</summary>
    public required double MeanNll { get; init; }

    /// <summary><c>exp(MeanNll)</c>.</summary>
    public double Perplexity => Math.Exp(MeanNll);

    /// <summary>Scored tokens per second of wall time.</summary>
    public required double TokensPerSecond { get; init; }

    /// <summary>Wall time of the evaluation.</summary>
    public required TimeSpan Elapsed { get; init; }
}
