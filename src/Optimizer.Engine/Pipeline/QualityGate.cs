using System.Globalization;

namespace Optimizer.Engine.Pipeline;

/// <summary>
/// The quality gate of <c>optimize</c>: the written variant (quantized weights with the kept mitigations) must not raise
/// perplexity on the evaluation text by more than <see cref="OptimizeOptions.FailAbovePplIncrease"/>, nor drift from
/// the original by more than <see cref="OptimizeOptions.FailAboveKld"/> (mean KL divergence, nats/token). It runs on
/// fake-quantized views before anything is written.
/// </summary>
public static class QualityGate
{
    /// <summary>Judges <paramref name="written"/> against the limits of <paramref name="options"/>.</summary>
    public static QualityGateResult Evaluate(string modelName, double originalPerplexity, VariantResult written, OptimizeOptions options)
    {
        ArgumentNullException.ThrowIfNull(written);
        ArgumentNullException.ThrowIfNull(options);
        var reasons = new List<string>();
        if (options.FailAbovePplIncrease is double pplLimit && !(written.PerplexityIncrease <= pplLimit))
            reasons.Add($"perplexity increase {PercentValue.Format(Math.Round(written.PerplexityIncrease, 6))} ({Number(originalPerplexity)} -> {Number(written.Perplexity)}) is above the limit {PercentValue.Format(pplLimit)} (fail-above-ppl-increase)");
        if (options.FailAboveKld is double kldLimit && !(written.KlDivergence <= kldLimit))
            reasons.Add($"KL divergence {Number(written.KlDivergence)} is above the limit {Number(kldLimit)} (fail-above-kld)");
        string? reason = reasons.Count == 0 ? null
            : $"Quality gate failed for model '{modelName}' ({written.Name}): {string.Join("; ", reasons)}.";
        return new QualityGateResult(reasons.Count == 0, reason, originalPerplexity, written.Perplexity, written.PerplexityIncrease,
            written.KlDivergence, options.FailAbovePplIncrease, options.FailAboveKld);
    }

    /// <summary>The exception the command raises for a failed gate (<see cref="ErrorCodes.QualityGateFailed"/>).</summary>
    public static OptimizerException Failure(QualityGateResult gate, string? file = null)
    {
        ArgumentNullException.ThrowIfNull(gate);
        if (gate.Passed) throw new ArgumentException("The gate passed.", nameof(gate));
        return new OptimizerException(ErrorCodes.QualityGateFailed, gate.Reason ?? "Quality gate failed.", file);
    }

    private static string Number(double value) => value.ToString("G4", CultureInfo.InvariantCulture);
}
