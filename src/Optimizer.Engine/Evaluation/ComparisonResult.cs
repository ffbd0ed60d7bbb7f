namespace Optimizer.Engine.Evaluation;

/// <summary>How one candidate model compares with the reference on the same evaluation text.</summary>
/// <param name="Name">The candidate's name as given to <see cref="ModelComparison.Compare"/>.</param>
/// <param name="Perplexity">The candidate's perplexity, <c>exp(mean NLL)</c> over the scored tokens.</param>
/// <param name="ReferencePerplexity">The reference model's perplexity over the same tokens.</param>
/// <param name="MeanKlDivergence">
/// Mean over scored positions of <c>KL(p_reference ‖ p_candidate) = Σ_v p_ref(v) (log p_ref(v) − log p_cand(v))</c> of the
/// next-token distributions, in nats. 0 for identical logits; tiny negative values are float rounding.
/// </param>
/// <param name="Top1Agreement">Fraction of scored positions where both models' most likely next token is the same.</param>
/// <param name="Tokens">Scored positions (tokens).</param>
public sealed record ComparisonResult(string Name, double Perplexity, double ReferencePerplexity, double MeanKlDivergence,
    double Top1Agreement, long Tokens)
{
    /// <summary>Relative perplexity change, <c>Perplexity / ReferencePerplexity − 1</c> (0.02 is 2 % worse).</summary>
    public double PerplexityIncrease => Perplexity / ReferencePerplexity - 1;
}
