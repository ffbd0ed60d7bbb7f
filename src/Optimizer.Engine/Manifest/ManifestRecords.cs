using System.Text.Json.Serialization;

namespace Optimizer.Engine.Manifest;

/// <summary>
/// An outlier manifest, schema <c>outlier-manifest/1</c> (docs/manifest.md). Numbers are stored as computed; the
/// <see cref="ManifestWriter"/> rounds statistics to 4 significant digits and sorts every array, so two manifests that
/// describe the same findings serialize to the same bytes.
/// </summary>
public sealed record OutlierManifest(
    ManifestTool Tool,
    ManifestModel Model,
    ManifestOptions Options,
    ManifestCalibration Calibration,
    IReadOnlyList<CensusEntry> Census,
    IReadOnlyList<NormProfile> Profiles,
    ManifestFindings Findings)
{
    /// <summary>The value of the top-level <c>schema</c> key.</summary>
    public const string SchemaId = "outlier-manifest/1";

    // The optimize sections are written by ManifestWriter and read back by ManifestReader (the report renders them).

    /// <summary><c>optimize</c>: the transforms applied and their verification; null for an analysis manifest.</summary>
    public ManifestTransforms? Transforms { get; init; }

    /// <summary><c>optimize</c>: the census re-measured on the transformed weights; null for an analysis manifest.</summary>
    public IReadOnlyList<CensusEntry>? CensusAfter { get; init; }

    /// <summary><c>optimize</c>: the recipe and per-tensor quantization error; null for an analysis manifest.</summary>
    public ManifestQuantization? Quantization { get; init; }

    /// <summary><c>optimize</c>: the candidates and variants scored, the selection and the quality gate; null for an analysis manifest.</summary>
    public ManifestEvaluation? Evaluation { get; init; }

    /// <summary><c>optimize</c>: the files written next to the manifest; null for an analysis manifest.</summary>
    public IReadOnlyList<ManifestOutput>? Outputs { get; init; }
}

/// <summary>The tool that wrote the manifest: <c>name</c> and <c>version</c> (no commit hash).</summary>
public sealed record ManifestTool(string Name, string Version);

/// <summary>The analysed model: folder name, architecture summary and the files the loader read.</summary>
public sealed record ManifestModel(string Name, ManifestArchitecture Architecture, IReadOnlyList<ManifestFile> Files);

/// <summary>The architecture summary of the <c>model</c> section.</summary>
public sealed record ManifestArchitecture(
    string ModelType,
    int Layers,
    int HiddenSize,
    int IntermediateSize,
    int AttentionHeads,
    int KvHeads,
    int HeadDim,
    int VocabSize,
    long Parameters,
    bool TiedEmbeddings,
    bool QkvBias,
    double RopeTheta,
    double RmsNormEps)
{
    /// <summary>The <c>rope_scaling</c> type (<c>linear</c>, <c>llama3</c>, <c>longrope</c>), or null for plain RoPE (then not written).</summary>
    public string? RopeScaling { get; init; }

    /// <summary>Whether heads carry q/k norms (qwen3); written only when true.</summary>
    public bool QkNorm { get; init; }
}

/// <summary>A file that was read: relative path with <c>/</c> separators, size, lower-case hex SHA-256.</summary>
public sealed record ManifestFile(string Path, long Bytes, string Sha256);

/// <summary>Massive-activation detection options (<c>options.ma</c>).</summary>
public sealed record MaOptions(
    string Mode,
    double AbsoluteThreshold,
    double RelativeThreshold,
    double ScaleFreeFactor,
    double RelativeThresholdScaleFree,
    double NearThresholdFraction)
{
    /// <summary>Sun et al.'s criterion: |x| &gt; absolute threshold and ≥ relative threshold × the token's median.</summary>
    public const string Absolute = "absolute";

    /// <summary>Thresholds relative to the model's own statistics.</summary>
    public const string ScaleFree = "scale-free";
}

/// <summary>Channel-outlier options (<c>options.co</c>): the rule, its ratio and the sites examined (ids).</summary>
public sealed record CoOptions(string Rule, double Ratio, IReadOnlyList<string> Sites)
{
    /// <summary>The only rule of schema 1: channel median over tokens ≥ ratio × the median over channels.</summary>
    public const string ChannelMedianRatio = "channel-median-ratio";
}

/// <summary>An option group with a single ratio (<c>options.gamma</c>, <c>options.otc</c>).</summary>
public sealed record RatioOption(double Ratio);

/// <summary>Every effective option and threshold of the analysis (<c>options</c>).</summary>
public sealed record ManifestOptions(MaOptions Ma, CoOptions Co, RatioOption Gamma, RatioOption Otc, int TopK);

/// <summary>Self-sampling parameters of a <c>self-sampled</c> calibration.</summary>
public sealed record CalibrationSampling(double Temperature, int TopK);

/// <summary>Where the calibration tokens came from and how they were chunked (<c>calibration</c>).</summary>
public sealed record ManifestCalibration(
    string Source,
    IReadOnlyList<ManifestFile> Files,
    long? Seed,
    CalibrationSampling? Sampling,
    int Sequences,
    int SequenceLength,
    bool Bos,
    long Tokens,
    string TokensSha256)
{
    /// <summary>Text files given by the user.</summary>
    public const string TextSource = "text";

    /// <summary>Text sampled from the model itself with a fixed seed.</summary>
    public const string SelfSampledSource = "self-sampled";
}

/// <summary>One of the largest entries at a site (<c>census[].top[]</c>).</summary>
public sealed record CensusTopEntry(int TokenPosition, int TokenId, int Channel, double Value);

/// <summary>The statistics of one (layer, site) (<c>census[]</c>).</summary>
public sealed record CensusEntry(
    int Layer,
    string Site,
    int Channels,
    double MaxAbs,
    double MedianAbs,
    double P99Abs,
    double MaxTokenRatio,
    IReadOnlyList<CensusTopEntry> Top);

/// <summary>Per-channel magnitude profile at one norm (<c>profiles[]</c>).</summary>
public sealed record NormProfile(
    int Layer,
    string Norm,
    IReadOnlyList<double> PreGammaAbsMax,
    IReadOnlyList<double> PostGammaAbsMax,
    IReadOnlyList<double> Gamma)
{
    /// <summary><c>input_layernorm</c>.</summary>
    public const string Attention = "attn";

    /// <summary><c>post_attention_layernorm</c>.</summary>
    public const string FeedForward = "ffn";
}
