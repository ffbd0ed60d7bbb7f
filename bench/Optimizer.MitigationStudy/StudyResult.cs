using Optimizer.Engine.Pipeline;
using Optimizer.LlamaCpp;

namespace Optimizer.MitigationStudy;

/// <summary>
/// What the study measured on one model: what the analysis found, llama.cpp's perplexity of the F32 file of the
/// original (the KL reference) and one <see cref="RecipeResult"/> per recipe.
/// </summary>
public sealed record StudyResult(
    StudyModel Model,
    string Findings,
    double LlamaF32,
    long LlamaTokens,
    int EvalTokens,
    int Context,
    IReadOnlyList<RecipeResult> Recipes);

/// <summary>A GGUF file judged by llama.cpp against the F32 file of the original: the judgement and the file's size.</summary>
public sealed record JudgedFile(LlamaCppJudgement Judgement, long Bytes)
{
    /// <summary>Mean KL(F32 ‖ file), nats/token.</summary>
    public double Kl => Judgement.KlDivergence;

    /// <summary>Perplexity.</summary>
    public double Ppl => Judgement.Perplexity;
}

/// <summary>
/// One recipe on one model: llama.cpp's verdict on the stock file (<c>llama-quantize</c> without an importance matrix),
/// the imatrix file (with the importance matrix of the calibration text) and the file <c>OptimizePipeline.Run</c> wrote
/// (<see cref="Winner"/>, why, and its engine variants: every candidate plus W8A8/W4A8), the kept transforms, and the
/// wall time of the pipeline and of its <c>compensating</c> stages (null when not observed).
/// </summary>
public sealed record RecipeResult(
    string Recipe,
    JudgedFile Stock,
    JudgedFile Imatrix,
    JudgedFile Shipped,
    string Winner,
    string Reason,
    IReadOnlyList<VariantResult> Variants,
    IReadOnlyList<string> KeptTransforms,
    TimeSpan Pipeline,
    TimeSpan? Compensating,
    TimeSpan? CompensatingMitigated)
{
    /// <summary>The engine variant named <paramref name="name"/>, or null.</summary>
    public VariantResult? Variant(string name) => Variants.SingleOrDefault(v => v.Name == name);

    /// <summary>The KL goal for the recipe: best ≤ 0.5× stock for Q4_0, ≤ 0.6× for the K-quants.</summary>
    public double Goal => Recipe == "Q4_0" ? 0.5 : 0.6;

    /// <summary>Shipped KL / stock KL (llama.cpp).</summary>
    public double Ratio => Shipped.Kl / Stock.Kl;

    /// <summary>Shipped file at most 1% larger than stock.</summary>
    public bool SizeHolds => Shipped.Bytes <= Stock.Bytes * 1.01;

    /// <summary>Every part of the goal.</summary>
    public bool GoalHolds => Ratio <= Goal && Shipped.Kl < Imatrix.Kl && SizeHolds;
}

/// <summary>
/// A whole run: the settings, recipes and options as given, whether it was filtered, its wall time, the machine and
/// the results (saved with <c>--save</c>, rendered again with <c>--render</c>).
/// </summary>
public sealed record StudyRun(StudySettings Settings, IReadOnlyList<string> Recipes, string Shown, bool Filtered, double Minutes, string Machine,
    IReadOnlyList<StudyResult> Results);
