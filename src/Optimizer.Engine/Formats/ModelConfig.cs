using System.Text.Json;
using System.Text.Json.Serialization;

namespace Optimizer.Engine.Formats;

/// <summary>
/// The Hugging Face <c>config.json</c> of a Llama-family decoder (llama incl. Llama 3.x RoPE scaling, mistral, qwen2,
/// qwen3, phi3; docs/model-families.md). Every key is bound by name; <see cref="Load"/> validates the values and refuses what
/// the engine does not implement rather than ignoring it.
/// </summary>
public sealed partial class ModelConfig
{
    public static readonly string[] SupportedModelTypes = { "llama", "mistral", "qwen2", "qwen3", "phi3", "gemma2", "gemma3_text" };

    /// <summary>Mixture-of-experts model types, refused with their own message.</summary>
    private static readonly string[] MixtureOfExpertsModelTypes = { "mixtral", "qwen2_moe", "qwen3_moe", "deepseek_v2", "deepseek_v3", "olmoe", "phimoe", "granitemoe", "dbrx" };

    [JsonPropertyName("architectures")] public string[]? Architectures { get; set; }
    [JsonPropertyName("model_type")] public string ModelType { get; set; } = "";
    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; }
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; }
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; }
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; }
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; }
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeads { get; set; }
    [JsonPropertyName("head_dim")] public int? HeadDimOverride { get; set; }
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; set; } = 1e-6;
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; set; } = 10000.0;
    [JsonPropertyName("rope_scaling")] public JsonElement? RopeScaling { get; set; }
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; set; } = 2048;
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; set; }
    [JsonPropertyName("attention_bias")] public bool? AttentionBias { get; set; }
    [JsonPropertyName("mlp_bias")] public bool MlpBias { get; set; }
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "silu";
    [JsonPropertyName("pretraining_tp")] public int PretrainingTp { get; set; } = 1;
    [JsonPropertyName("sliding_window")] public int? SlidingWindow { get; set; }
    [JsonPropertyName("use_sliding_window")] public bool? UseSlidingWindow { get; set; }
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; set; }
    [JsonPropertyName("eos_token_id")] public JsonElement? EosTokenIdRaw { get; set; }
    [JsonPropertyName("torch_dtype")] public string? TorchDtype { get; set; }
    [JsonPropertyName("partial_rotary_factor")] public double? PartialRotaryFactor { get; set; }
    [JsonPropertyName("original_max_position_embeddings")] public int? OriginalMaxPositionEmbeddings { get; set; }
    [JsonPropertyName("lm_head_bias")] public bool? LmHeadBias { get; set; }

    /// <summary>
    /// The head dimensions RoPE rotates: head_dim · <c>partial_rotary_factor</c>, truncated (all of them when the key is
    /// absent); the others pass through unrotated (phi3; docs/model-families.md).
    /// </summary>
    [JsonIgnore] public int RotaryDims => PartialRotaryFactor is double f ? (int)(HeadDim * f) : HeadDim;

    /// <summary>
    /// Longrope's original context: config.json's top-level <c>original_max_position_embeddings</c> (Phi3Config's
    /// default 4096 when absent), else the one inside <c>rope_scaling</c>, else <c>max_position_embeddings</c>.
    /// </summary>
    [JsonIgnore]
    public int LongropeOriginalContext => OriginalMaxPositionEmbeddings
        ?? (ModelType == "phi3" ? Phi3DefaultOriginalContext : Rope.OriginalContext > 0 ? Rope.OriginalContext : MaxPositionEmbeddings);

    /// <summary>YaRN's original context: the one in <c>rope_scaling</c>, else <c>max_position_embeddings</c> (as Hugging Face).</summary>
    [JsonIgnore] public int YarnOriginalContext => Rope.OriginalContext > 0 ? Rope.OriginalContext : MaxPositionEmbeddings;

    /// <summary>Phi3Config's default <c>original_max_position_embeddings</c>.</summary>
    public const int Phi3DefaultOriginalContext = 4096;

    /// <summary>
    /// What cos/sin are multiplied by: 1 except for longrope, where it is <c>rope_scaling.attention_factor</c> when
    /// given, else √(1 + ln(s)/ln(original)) with s = max_position_embeddings / original (1 when s ≤ 1).
    /// </summary>
    [JsonIgnore]
    public double RopeAttentionFactor
    {
        get
        {
            var rope = Rope;
            if (rope.Kind == RopeScalingKind.Yarn) return rope.YarnAttentionFactor;
            if (rope.Kind != RopeScalingKind.Longrope) return 1.0;
            if (rope.AttentionFactor is double explicitFactor) return explicitFactor;
            double scale = (double)MaxPositionEmbeddings / LongropeOriginalContext;
            return scale <= 1.0 ? 1.0 : Math.Sqrt(1 + Math.Log(scale) / Math.Log(LongropeOriginalContext));
        }
    }

    /// <summary>
    /// The attention window of phi3's <c>sliding_window</c>: query t sees keys s with t − window &lt; s ≤ t (null: full
    /// causal attention). Other families' sliding_window keys are not read.
    /// </summary>
    [JsonIgnore] public int? AttentionWindow => ModelType == "phi3" ? SlidingWindow : null;

    /// <summary>Whether q/k/v and gate/up are stored fused (phi3's qkv_proj and gate_up_proj; <see cref="Phi3Names"/>).</summary>
    [JsonIgnore] public bool HasFusedProjections => ModelType == "phi3";

    /// <summary>Key/value heads (GQA); equals the attention heads when absent.</summary>
    [JsonIgnore] public int KeyValueHeads => NumKeyValueHeads ?? NumAttentionHeads;

    /// <summary>Size of one attention head.</summary>
    [JsonIgnore] public int HeadDim => HeadDimOverride ?? (NumAttentionHeads == 0 ? 0 : HiddenSize / NumAttentionHeads);

    /// <summary>Whether q/k/v projections carry a bias (always for qwen2; <c>attention_bias</c> for llama).</summary>
    [JsonIgnore] public bool HasQkvBias => ModelType == "qwen2" || AttentionBias == true;

    /// <summary>Whether each attention head's q and k are RMS-normalized (per head, γ of size head_dim) before RoPE (qwen3, gemma3_text).</summary>
    [JsonIgnore] public bool HasQkNorm => ModelType is "qwen3" or Gemma3Text;

    /// <summary>The parsed <c>rope_scaling</c> (plain RoPE when absent); throws for what <see cref="Validate"/> refuses.</summary>
    [JsonIgnore] public Formats.RopeScaling Rope => Formats.RopeScaling.Parse(RopeScaling, "config.json");

    /// <summary>
    /// Per rotary pair, what its plain frequency is divided by, when they were read as such (llama.cpp's
    /// <c>rope_freqs</c> tensor of a GGUF input) instead of from <c>rope_scaling</c>; null otherwise.
    /// </summary>
    [JsonIgnore] public double[]? RopeFrequencyDivisors { get; set; }

    /// <summary>The inverse frequency of each rotary pair the forward pass rotates with (float64).</summary>
    public double[] RopeInverseFrequencies() => RopeInverseFrequencies(0);

    /// <summary>
    /// The inverse frequency of each rotary pair (<see cref="RotaryDims"/>/2 of them) for a sequence of
    /// <paramref name="sequenceLength"/> tokens: longrope uses its long factors beyond <see cref="LongropeOriginalContext"/>.
    /// </summary>
    public double[] RopeInverseFrequencies(int sequenceLength)
    {
        int dims = RotaryDims;
        if (RopeFrequencyDivisors is null && Rope is { Kind: RopeScalingKind.Yarn } yarn)
            return yarn.YarnInverseFrequencies(dims, RopeTheta, YarnOriginalContext);
        if (RopeFrequencyDivisors is not { } divisors)
            return Rope.InverseFrequencies(dims, RopeTheta, Rope.Kind == RopeScalingKind.Longrope && sequenceLength > LongropeOriginalContext);
        var inverse = new double[dims / 2];
        for (int i = 0; i < inverse.Length; i++) inverse[i] = Math.Pow(RopeTheta, -2.0 * i / dims) / divisors[i];
        return inverse;
    }

    /// <summary>Whether o_proj carries a bias (llama's <c>attention_bias</c>; never for qwen2).</summary>
    [JsonIgnore] public bool HasOutputBias => ModelType != "qwen2" && AttentionBias == true;

    /// <summary>The first end-of-sequence id (config may give one id or a list).</summary>
    [JsonIgnore]
    public int? EosTokenId => EosTokenIdRaw switch
    {
        { ValueKind: JsonValueKind.Number } e => e.GetInt32(),
        { ValueKind: JsonValueKind.Array } e when e.GetArrayLength() > 0 && e[0].ValueKind == JsonValueKind.Number => e[0].GetInt32(),
        _ => null,
    };

    private static readonly JsonSerializerOptions ReadOptions = new() { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };
    private static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Reads and validates <c>config.json</c>; throws <see cref="OptimizerException"/> naming the file and key.</summary>
    public static ModelConfig Load(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new OptimizerException(ErrorCodes.ConfigMissing, "config.json is missing from the model folder.", path);
        byte[] bytes = JsonFile.ReadAllBytes(path, "config.json", JsonFile.MaxBytes, ErrorCodes.ConfigInvalid);
        ModelConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<ModelConfig>(bytes, ReadOptions);
        }
        catch (JsonException ex)
        {
            int line = ex.LineNumber is long l ? (int)l + 1 : 0;
            int col = ex.BytePositionInLine is long c ? (int)c + 1 : 0;
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"config.json is not valid: {FirstSentence(ex.Message)}", path, line, col, ex);
        }
        if (config is null) throw new OptimizerException(ErrorCodes.ConfigInvalid, "config.json is empty (null).", path);
        config.ApplyFamilyDefaults(bytes);
        config.Validate(path);
        return config;
    }

    /// <summary>Checks every value the engine relies on; throws naming the key.</summary>
    public void Validate(string path)
    {
        if (string.IsNullOrEmpty(ModelType))
            throw new OptimizerException(ErrorCodes.ConfigInvalid, "config.json has no \"model_type\".", path);
        if (Array.IndexOf(MixtureOfExpertsModelTypes, ModelType) >= 0)
            throw new OptimizerException(ErrorCodes.UnsupportedArchitecture,
                $"\"{ModelType}\" is a mixture-of-experts model, which is not supported; supported dense families: {string.Join(", ", SupportedModelTypes)}.", path);
        RefuseMultimodalGemma(path);
        if (Array.IndexOf(SupportedModelTypes, ModelType) < 0)
            throw new OptimizerException(ErrorCodes.UnsupportedArchitecture,
                $"Architecture \"{ModelType}\" is not supported; supported: {string.Join(", ", SupportedModelTypes)}.", path);
        Positive(VocabSize, "vocab_size", path);
        Positive(HiddenSize, "hidden_size", path);
        Positive(IntermediateSize, "intermediate_size", path);
        Positive(NumHiddenLayers, "num_hidden_layers", path);
        Positive(NumAttentionHeads, "num_attention_heads", path);
        Positive(KeyValueHeads, "num_key_value_heads", path);
        Positive(HeadDim, "head_dim", path);
        Positive(MaxPositionEmbeddings, "max_position_embeddings", path);
        if (HeadDimOverride is null && HiddenSize % NumAttentionHeads != 0)
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"hidden_size\" ({HiddenSize}) is not a multiple of \"num_attention_heads\" ({NumAttentionHeads}).", path);
        if (NumAttentionHeads % KeyValueHeads != 0)
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"num_attention_heads\" ({NumAttentionHeads}) is not a multiple of \"num_key_value_heads\" ({KeyValueHeads}).", path);
        if (HeadDim % 2 != 0)
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"The head size ({HeadDim}) must be even for rotary embeddings.", path);
        if (!(RmsNormEps > 0) || double.IsInfinity(RmsNormEps))
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"rms_norm_eps\" must be a positive number, not {RmsNormEps}.", path);
        if (!(RopeTheta > 0) || double.IsInfinity(RopeTheta))
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"rope_theta\" must be a positive number, not {RopeTheta}.", path);
        if (IsGemma)
        {
            ValidateGemma(path);
            return;
        }
        if (HiddenAct is not ("silu" or "swish"))
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"\"hidden_act\" \"{HiddenAct}\" is not supported (only silu).", path);
        if (PretrainingTp != 1)
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"\"pretraining_tp\" {PretrainingTp} is not supported (only 1).", path);
        if (MlpBias)
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, "\"mlp_bias\": true is not supported.", path);
        Formats.RopeScaling.Parse(RopeScaling, path);
        ValidatePhi3(path);
        if (RopeFrequencyDivisors is { } divisors && (divisors.Length != RotaryDims / 2 || divisors.Any(d => !(d > 0) || double.IsInfinity(d))))
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"The RoPE frequency divisors must be {RotaryDims / 2} positive numbers.", path);
        if (ModelType == "qwen3" && AttentionBias == true)
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, "\"attention_bias\": true is not supported for qwen3 (llama.cpp's qwen3 has no projection biases).", path);
        if (BosTokenId is int bos && (bos < 0 || bos >= VocabSize))
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"bos_token_id\" {bos} is outside the vocabulary (size {VocabSize}).", path);
    }

    /// <summary>
    /// phi3's keys (docs/model-families.md, "Phi-3"): <c>partial_rotary_factor</c> in (0, 1] giving an even number of
    /// rotary dimensions; <c>rope_scaling</c> only longrope (whose factor lists hold one value per rotary pair) and only
    /// on phi3; a positive <c>sliding_window</c> and <c>original_max_position_embeddings</c>; no projection biases.
    /// </summary>
    private void ValidatePhi3(string path)
    {
        bool phi3 = ModelType == "phi3";
        if (PartialRotaryFactor is double factor)
        {
            if (!phi3)
                throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"\"partial_rotary_factor\" is not supported for {ModelType} (only phi3).", path);
            if (!(factor > 0 && factor <= 1))
                throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"partial_rotary_factor\" must be in (0, 1], not {factor.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}.", path);
            if (RotaryDims < 2 || RotaryDims % 2 != 0)
                throw new OptimizerException(ErrorCodes.ConfigInvalid,
                    $"\"partial_rotary_factor\" gives {RotaryDims} rotary dimensions of the head's {HeadDim}; they must be a positive even number.", path);
        }
        var rope = Formats.RopeScaling.Parse(RopeScaling, path);
        if (rope.Kind == RopeScalingKind.Longrope && !phi3)
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"\"rope_scaling\" of type longrope is not supported for {ModelType} (only phi3).", path);
        if (!phi3) return;
        if (rope.Kind is not (RopeScalingKind.None or RopeScalingKind.Longrope))
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue,
                $"\"rope_scaling\" of type {rope.TypeName} is not supported for phi3 (llama.cpp's phi3 knows only longrope); supported: longrope.", path);
        if (OriginalMaxPositionEmbeddings is int original && original <= 0)
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"original_max_position_embeddings\" must be a positive integer, not {original}.", path);
        if (rope.Kind == RopeScalingKind.Longrope)
        {
            int pairs = RotaryDims / 2;
            if (rope.ShortFactors!.Length != pairs)
                throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"rope_scaling.short_factor\" has {rope.ShortFactors.Length} values; the {RotaryDims} rotary dimensions need {pairs}.", path);
            if (rope.LongFactors!.Length != pairs)
                throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"rope_scaling.long_factor\" has {rope.LongFactors.Length} values; the {RotaryDims} rotary dimensions need {pairs}.", path);
        }
        if (SlidingWindow is int window && window <= 0)
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"sliding_window\" must be a positive integer or null, not {window}.", path);
        if (LmHeadBias == true)
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, "\"lm_head_bias\": true is not supported (the output head has no bias in the engine or in llama.cpp's phi3).", path);
        if (AttentionBias == true)
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, "\"attention_bias\": true is not supported for phi3 (Phi-3's projections have no biases).", path);
        if (HeadDimOverride is int headDim && headDim * NumAttentionHeads != HiddenSize)
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue,
                $"\"head_dim\" {headDim} is not supported for phi3: llama.cpp's phi3 needs hidden_size / num_attention_heads ({HiddenSize / NumAttentionHeads}).", path);
    }

    /// <summary>Serializes to indented JSON (for writers of model folders).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, WriteOptions) + "\n";

    private static void Positive(int value, string key, string path)
    {
        if (value <= 0) throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"{key}\" must be a positive integer, not {value}.", path);
    }

    private static string FirstSentence(string message)
    {
        int i = message.IndexOf(" Path:", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message;
    }
}
