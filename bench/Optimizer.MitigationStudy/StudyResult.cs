using Optimizer.Engine.Pipeline;

namespace Optimizer.MitigationStudy;

/// <summary>
/// What the study measured on one model: the kept transforms (and the clamp gate's verdict), the engine's variants
/// (<see cref="VariantEvaluation"/>: original, weight-only Q4_0, W8A8 static, W4A8 dynamic, each with and without the
/// mitigations), what the analysis found (MAs, births, COs, OTCs), and llama.cpp's perplexity of the F32, Q4_0 and mitigated Q4_0 GGUF files on the same tokens.
/// </summary>
public sealed record StudyResult(
    StudyModel Model,
    string Findings,
    IReadOnlyList<string> KeptTransforms,
    string ClampGate,
    IReadOnlyList<VariantResult> Variants,
    double LlamaF32,
    double LlamaQ4_0,
    double LlamaQ4_0Mitigated,
    long LlamaTokens,
    int EvalTokens,
    int Context)
{
    /// <summary>The engine variant named <paramref name="name"/>.</summary>
    public VariantResult Variant(string name) => Variants.Single(v => v.Name == name);
}
