using Optimizer.Engine.Manifest;
using Optimizer.Engine.Quantization.Imatrix;

namespace Optimizer.Engine.Pipeline;

/// <summary>
/// What <see cref="OptimizePipeline.Run"/> did. When the quality gate failed nothing was written: <see cref="Manifest"/>
/// is null, <see cref="Outputs"/> is empty and <see cref="Gate"/> says why.
/// </summary>
/// <param name="OutputName">The output base name.</param>
/// <param name="Manifest">The manifest as written (null when the gate failed).</param>
/// <param name="Outputs">The files written, weights first and the manifest last (absolute paths).</param>
/// <param name="Variants">The evaluated variants, original first.</param>
/// <param name="Gate">The quality gate's verdict on the written variant.</param>
/// <param name="MaxAbsDeltaLogit">max |Δlogit| of the exact transforms on the calibration text.</param>
/// <param name="Warnings">Things the user should know (analysis warnings, a rolled-back clamp).</param>
/// <param name="Device">The device the forward passes ran on.</param>
/// <param name="Elapsed">Wall time of the run.</param>
public sealed record OptimizeResult(
    string OutputName,
    OutlierManifest? Manifest,
    IReadOnlyList<OptimizeOutput> Outputs,
    IReadOnlyList<VariantResult> Variants,
    QualityGateResult Gate,
    double MaxAbsDeltaLogit,
    IReadOnlyList<string> Warnings,
    string Device,
    TimeSpan Elapsed)
{
    /// <summary>
    /// The importance matrix the GGUF weights were quantized with (the given one carried over the transforms, so it
    /// describes the inputs of the written weights), or null.
    /// </summary>
    public ImportanceMatrix? Importance { get; init; }

    /// <summary>The importance matrix collected on the written weights (with <see cref="OptimizeOptions.ImatrixOut"/>), or null.</summary>
    public ImportanceMatrix? CollectedImportance { get; init; }

    /// <summary>Which candidate was written and why (null only for results built outside the pipeline).</summary>
    public SelectionResult? Selection { get; init; }
}

/// <summary>A written file: absolute path, path relative to the output folder (the file name for an importance matrix written elsewhere), kind (<see cref="ManifestOutput"/> kinds), size, SHA-256.</summary>
public sealed record OptimizeOutput(string Path, string RelativePath, string Kind, long Bytes, string Sha256);

/// <summary>
/// One evaluated variant (see docs/manifest.md, <c>evaluation.variants</c>); <see cref="FileBytes"/> is the size of its
/// weights on disk where it has one (the original model and the written variant), else null.
/// </summary>
public sealed record VariantResult(
    string Name,
    string Weights,
    string Activations,
    bool Mitigated,
    double Perplexity,
    double PerplexityIncrease,
    double KlDivergence,
    double Top1Agreement,
    long Tokens,
    long? FileBytes)
{
    /// <summary>Whether this variant competes to be written (a candidate file; see <see cref="CandidateSelection"/>).</summary>
    public bool Candidate { get; init; }

    /// <summary>Whether this candidate is the one written.</summary>
    public bool Selected { get; init; }

    /// <summary>Whether the candidate's weights were quantized with an importance matrix.</summary>
    public bool Imatrix { get; init; }

    /// <summary>Whether the candidate's codes were chosen by error-compensating rounding.</summary>
    public bool Compensated { get; init; }

    /// <summary>The bytes of the candidate's tensor data as its file would store them (types × elements), or null.</summary>
    public long? TensorBytes { get; init; }

    /// <summary>How simple the candidate is (lower is simpler; ties in quality go to the simpler one).</summary>
    public int Simplicity { get; init; }
}

/// <summary>
/// The quality gate: perplexity of the original and of the written (quantized, mitigated) variant, the relative
/// increase, the mean KL divergence, whether both limits held, and the reason when not.
/// </summary>
public sealed record QualityGateResult(
    bool Passed,
    string? Reason,
    double PerplexityOriginal,
    double PerplexityOptimized,
    double PerplexityIncrease,
    double KlDivergence,
    double? FailAbovePplIncrease,
    double? FailAboveKld);
