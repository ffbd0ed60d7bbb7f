namespace Optimizer.Engine.Manifest;

/// <summary>
/// The <c>transforms</c> section written by <c>optimize</c>: the mitigations asked for, every transform with whether it
/// is exact and whether it was kept, the verification of the exact ones and the perplexity gate of the approximate ones.
/// </summary>
/// <param name="Mitigations">The mitigation names in effect (<c>norm</c>, <c>smooth</c>, <c>otc</c>, <c>tma</c>, <c>tma-clamp</c>), in that order.</param>
/// <param name="Applied">One entry per transform the plan produced.</param>
/// <param name="MaxAbsDeltaLogit">max |Δlogit| between the original and the exactly transformed model on the calibration text.</param>
/// <param name="ClampGate">The held-out perplexity check of the approximate transforms; null when the plan has none.</param>
public sealed record ManifestTransforms(
    IReadOnlyList<string> Mitigations,
    IReadOnlyList<TransformEntry> Applied,
    double MaxAbsDeltaLogit,
    ClampGateRecord? ClampGate);

/// <summary>
/// One transform: <c>name</c>, <c>exact</c>, <c>status</c> (<c>kept</c> | <c>rolled-back</c>), its parameters (as text,
/// in the transform's order) and what it touched per (layer, target).
/// </summary>
public sealed record TransformEntry(
    string Name,
    bool Exact,
    string Status,
    [property: System.Text.Json.Serialization.JsonConverter(typeof(TransformParameterListConverter))] IReadOnlyList<TransformParameterRecord> Parameters,
    IReadOnlyList<TransformTouchRecord> Touched)
{
    /// <summary>The transform is part of the written weights.</summary>
    public const string Kept = "kept";

    /// <summary>An approximate transform that failed its perplexity budget and was undone.</summary>
    public const string RolledBack = "rolled-back";

    /// <summary>A verified transform that the written file does not contain: an unmitigated candidate won (evaluation.selection).</summary>
    public const string NotSelected = "not-selected";
}

/// <summary>A transform parameter: name and value as text (numbers in invariant round-trip form).</summary>
public sealed record TransformParameterRecord(string Name, string Value);

/// <summary>Reads a transform's <c>parameters</c> object (name → text value, in file order) as a list.</summary>
internal sealed class TransformParameterListConverter : System.Text.Json.Serialization.JsonConverter<IReadOnlyList<TransformParameterRecord>>
{
    public override IReadOnlyList<TransformParameterRecord> Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options)
    {
        if (reader.TokenType != System.Text.Json.JsonTokenType.StartObject) throw new System.Text.Json.JsonException("parameters must be an object");
        var list = new List<TransformParameterRecord>();
        while (reader.Read() && reader.TokenType != System.Text.Json.JsonTokenType.EndObject)
        {
            string name = reader.GetString()!;
            reader.Read();
            if (reader.TokenType != System.Text.Json.JsonTokenType.String) throw new System.Text.Json.JsonException($"parameter {name} must be a string");
            list.Add(new TransformParameterRecord(name, reader.GetString()!));
        }
        return list;
    }

    public override void Write(System.Text.Json.Utf8JsonWriter writer, IReadOnlyList<TransformParameterRecord> value, System.Text.Json.JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var p in value) writer.WriteString(p.Name, p.Value);
        writer.WriteEndObject();
    }
}

/// <summary>What a transform changed in one layer: target (<c>attn_norm</c>, <c>ffn_norm</c>, <c>qk</c>, <c>y6</c>), the channels whose scale is not 1, and the scale range.</summary>
public sealed record TransformTouchRecord(int Layer, string Target, IReadOnlyList<int> Channels, double MinScale, double MaxScale);

/// <summary>
/// The perplexity gate of the approximate transforms: held-out perplexity without and with them, the increase
/// (fraction), the limit (<c>--max-ppl-increase</c>, fraction) and whether they were kept.
/// </summary>
public sealed record ClampGateRecord(double Limit, double PerplexityWithout, double PerplexityWith, double Increase, bool Kept);

/// <summary>The <c>quantization</c> section: output format, recipe, int4 group size and the error of every stored tensor.</summary>
public sealed record ManifestQuantization(string Format, string Recipe, int? GroupSize, IReadOnlyList<QuantizedTensorRecord> Tensors)
{
    /// <summary>Whether the written weights were quantized with an importance matrix (GGUF).</summary>
    public bool Imatrix { get; init; }

    /// <summary>Error-compensating rounding per linear weight when the written candidate used it, else null.</summary>
    public IReadOnlyList<CompensationRecord>? Compensation { get; init; }
}

/// <summary>
/// Error-compensating rounding of one linear weight: HF name, type, the damping λ that made its Hessian positive
/// definite (null when not compensated) and why it kept plain rounding (<c>type</c>, <c>shape</c>, <c>hessian</c>) or null.
/// </summary>
public sealed record CompensationRecord(string Tensor, string Type, double? Damping, string? Skipped);

/// <summary>One stored tensor: HF name, stored type (e.g. <c>Q4_0</c>, <c>F32</c>, <c>int8</c>) and relative RMSE of its round trip.</summary>
public sealed record QuantizedTensorRecord(string Name, string Type, double RelativeRmse);

/// <summary>The <c>evaluation</c> section: the text scored, one entry per variant, and the quality gate.</summary>
public sealed record ManifestEvaluation(EvaluationTextRecord Text, IReadOnlyList<EvaluationVariantRecord> Variants, QualityGateRecord Gate)
{
    /// <summary>The candidate search and its winner (null in manifests written before candidates existed).</summary>
    public SelectionRecord? Selection { get; init; }
}

/// <summary>
/// The candidate search: <c>search</c> (<c>quick</c> | <c>full</c>), <c>mitigations</c> (<c>auto</c>: with and without
/// compete; <c>explicit</c>: the user's list must be applied), the selected candidate, the <c>rule</c> that chose it
/// (<c>lowest-kl</c>, <c>tie-to-simpler</c>, <c>no-finite-score</c>), what restricted the choice (<c>constraint</c>:
/// <c>mitigations</c>, <c>imatrix</c>, both, or null), the better candidate that restriction excluded
/// (<c>better_excluded</c>, or null) and the relative KL margin within which the simpler candidate wins. No text with
/// measured numbers, so the section is the same on every CPU (the scores are in <c>variants</c>).
/// </summary>
public sealed record SelectionRecord(string Search, string Mitigations, string Selected, string Rule, string? Constraint, string? BetterExcluded, double TieTolerance);

/// <summary>
/// The evaluation text: <c>source</c> (<c>text</c>: the user's file; <c>self-sampled</c>: sampled from the original model
/// with <c>seed</c>, which differs from the calibration seed), files, tokens, context length and the tokens' SHA-256.
/// </summary>
public sealed record EvaluationTextRecord(string Source, IReadOnlyList<ManifestFile> Files, long? Seed, long Tokens, int Context, string TokensSha256);

/// <summary>
/// One evaluated variant: <c>name</c>, weights (<c>original</c> | <c>transformed</c> | a quantization name), activations
/// (<c>none</c> | <c>a8-per-tensor-static</c> | <c>a8-per-token-dynamic</c>), whether the mitigations were applied, perplexity,
/// its increase over the original (fraction), mean KL divergence from the original, top-1 agreement and tokens scored.
/// </summary>
public sealed record EvaluationVariantRecord(
    string Name,
    string Weights,
    string Activations,
    bool Mitigated,
    double Perplexity,
    double PerplexityIncrease,
    double KlDivergence,
    double Top1Agreement,
    long Tokens)
{
    /// <summary>Candidate files only: whether it was written, imatrix and compensation, and its tensor bytes; null for other variants.</summary>
    public CandidateRecord? Candidate { get; init; }
}

/// <summary>What a candidate file is: selected, quantized with an importance matrix, compensated, bytes of its tensor data (null when unknown).</summary>
public sealed record CandidateRecord(bool Selected, bool Imatrix, bool Compensated, long? TensorBytes);

/// <summary>The quality gate's limits (null when not set) and the measured values of the written variant.</summary>
public sealed record QualityGateRecord(double? FailAbovePplIncrease, double? FailAboveKld, double PerplexityIncrease, double KlDivergence, bool Passed);

/// <summary>A written file: path relative to the output folder (<c>/</c> separators), kind, size, SHA-256.</summary>
public sealed record ManifestOutput(string Path, string Kind, long Bytes, string Sha256)
{
    /// <summary>Quantized weights (a .gguf file or model.safetensors).</summary>
    public const string Weights = "weights";

    /// <summary>config.json of a safetensors folder.</summary>
    public const string Config = "config";

    /// <summary>A tokenizer file of a safetensors folder.</summary>
    public const string Tokenizer = "tokenizer";

    /// <summary>The manifest itself (listed in result.json, not in the manifest).</summary>
    public const string Manifest = "manifest";

    /// <summary>The importance matrix written with <c>--imatrix-out</c> (listed in result.json, not in the manifest).</summary>
    public const string Imatrix = "imatrix";
}
