using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Optimizer.Engine.Formats;

/// <summary>
/// The Gemma 2 (<c>gemma2</c>) and Gemma 3 text (<c>gemma3_text</c>) keys of <c>config.json</c> and their validation
/// (docs/model-families.md, "Gemma 2 and Gemma 3 text"). Keys Hugging Face defaults differently for these families (tied embeddings, rope_theta,
/// head_dim, the soft-capping values) are filled from the family defaults when absent (<see cref="ApplyFamilyDefaults"/>);
/// an explicit <c>null</c> soft-cap means none.
/// </summary>
public sealed partial class ModelConfig
{
    /// <summary>The Gemma <c>model_type</c> values the engine runs.</summary>
    public const string Gemma2 = "gemma2", Gemma3Text = "gemma3_text";

    /// <summary>Layer type names of <c>layer_types</c>.</summary>
    public const string SlidingAttention = "sliding_attention", FullAttention = "full_attention";

    [JsonPropertyName("hidden_activation")] public string? HiddenActivation { get; set; }
    [JsonPropertyName("query_pre_attn_scalar")] public double? QueryPreAttnScalar { get; set; }
    [JsonPropertyName("attn_logit_softcapping")] public double? AttnLogitSoftcapping { get; set; }
    [JsonPropertyName("final_logit_softcapping")] public double? FinalLogitSoftcapping { get; set; }
    [JsonPropertyName("layer_types")] public string[]? LayerTypes { get; set; }
    [JsonPropertyName("sliding_window_pattern")] public int? SlidingWindowPattern { get; set; }
    [JsonPropertyName("rope_local_base_freq")] public double? RopeLocalBaseFreq { get; set; }
    [JsonPropertyName("use_bidirectional_attention")] public bool? UseBidirectionalAttention { get; set; }
    [JsonPropertyName("text_config")] public JsonElement? TextConfig { get; set; }
    [JsonPropertyName("rope_parameters")] public JsonElement? RopeParameters { get; set; }

    /// <summary>Whether the config is Gemma 2 or Gemma 3 text (pre/post norms with (1 + γ), GELU-tanh, embedding scale).</summary>
    [JsonIgnore] public bool IsGemma => ModelType is Gemma2 or Gemma3Text;

    /// <summary>Whether the config is Gemma 3 text (per-head q/k norms, local and global RoPE bases).</summary>
    [JsonIgnore] public bool IsGemma3 => ModelType == Gemma3Text;

    /// <summary>Whether each layer has post-attention and post-FFN norms (the Gemma families).</summary>
    [JsonIgnore] public bool HasPostNorms => IsGemma;

    /// <summary>Gemma 3's default period of <c>sliding_window_pattern</c>: every sixth layer is global.</summary>
    public const int Gemma3DefaultSlidingPattern = 6;

    /// <summary>The attention score scale <c>query_pre_attn_scalar^-0.5</c> (Gemma), otherwise <c>head_dim^-0.5</c>.</summary>
    [JsonIgnore] public double AttentionScale => IsGemma ? Math.Pow(QueryPreAttnScalar ?? HeadDim, -0.5) : 1.0 / Math.Sqrt(HeadDim);

    /// <summary>The linear RoPE factor of Gemma 3's global layers (1 without <c>rope_scaling</c>).</summary>
    [JsonIgnore]
    public double RopeLinearFactor => RopeScaling is { ValueKind: JsonValueKind.Object } s && IsLinear(s)
        && s.TryGetProperty("factor", out var f) && f.ValueKind == JsonValueKind.Number ? f.GetDouble() : 1.0;

    private static bool IsLinear(JsonElement scaling) =>
        (scaling.TryGetProperty("rope_type", out var t) || scaling.TryGetProperty("type", out t)) && t.ValueKind == JsonValueKind.String && t.GetString() == "linear";

    /// <summary>Whether decoder layer <paramref name="layer"/> attends through a sliding window (Gemma only).</summary>
    public bool IsSlidingLayer(int layer)
    {
        if (!IsGemma) return false;
        if (LayerTypes is { } types) return types[layer] == SlidingAttention;
        if (ModelType == Gemma2) return layer % 2 == 0;
        int pattern = SlidingWindowPattern ?? Gemma3DefaultSlidingPattern;
        return (layer + 1) % pattern != 0;
    }

    /// <summary>The RoPE base of <paramref name="layer"/>: Gemma 3's sliding layers use <c>rope_local_base_freq</c>.</summary>
    public double RopeBase(int layer) => IsGemma3 && IsSlidingLayer(layer) ? RopeLocalBaseFreq ?? 10000.0 : RopeTheta;

    /// <summary>The linear RoPE factor of <paramref name="layer"/>: only Gemma 3's global layers are scaled.</summary>
    public double RopeFactor(int layer) => IsGemma3 && !IsSlidingLayer(layer) ? RopeLinearFactor : 1.0;

    /// <summary>
    /// Fills the Gemma defaults Hugging Face's configuration classes use for keys absent from <paramref name="json"/>
    /// (docs/model-families.md, "Gemma 2 and Gemma 3 text"): tied embeddings, head_dim 256, query_pre_attn_scalar 256, sliding_window 4096,
    /// Gemma 2's soft-caps 50 and 30, Gemma 3's rope_theta 1e6 and rope_local_base_freq 1e4. Other families: no-op.
    /// </summary>
    internal void ApplyFamilyDefaults(ReadOnlySpan<byte> json)
    {
        if (!IsGemma) return;
        using var document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var root = document.RootElement;
        bool Has(string key) => root.TryGetProperty(key, out _);
        if (!Has("tie_word_embeddings")) TieWordEmbeddings = true;
        if (!Has("head_dim")) HeadDimOverride = 256;
        if (!Has("query_pre_attn_scalar")) QueryPreAttnScalar = 256;
        if (!Has("sliding_window")) SlidingWindow = 4096;
        if (!Has("max_position_embeddings")) MaxPositionEmbeddings = IsGemma3 ? 131072 : 8192;
        if (ModelType == Gemma2)
        {
            if (!Has("attn_logit_softcapping")) AttnLogitSoftcapping = 50.0;
            if (!Has("final_logit_softcapping")) FinalLogitSoftcapping = 30.0;
        }
        else
        {
            if (!Has("rope_theta")) RopeTheta = 1_000_000.0;
            if (!Has("rope_local_base_freq")) RopeLocalBaseFreq = 10_000.0;
        }
    }

    /// <summary>The multimodal Gemma 3 config (<c>gemma3</c> with a <c>text_config</c>) is refused naming gemma3_text.</summary>
    private void RefuseMultimodalGemma(string path)
    {
        if (ModelType == "gemma3")
            throw new OptimizerException(ErrorCodes.UnsupportedArchitecture,
                "Architecture \"gemma3\" (Gemma3ForConditionalGeneration, text and vision) is not supported; only the text model is: " +
                "use a checkpoint whose config.json has \"model_type\": \"gemma3_text\" (Gemma3ForCausalLM).", path);
    }

    /// <summary>Checks the Gemma keys (after the common ones); throws naming the key.</summary>
    private void ValidateGemma(string path)
    {
        string activation = HiddenActivation ?? "gelu_pytorch_tanh";
        if (activation != "gelu_pytorch_tanh")
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"\"hidden_activation\" \"{activation}\" is not supported for {ModelType} (only gelu_pytorch_tanh).", path);
        if (HeadDimOverride is null)
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"head_dim\" is required for {ModelType}.", path);
        if (AttentionBias == true)
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"\"attention_bias\": true is not supported for {ModelType}.", path);
        if (PretrainingTp != 1)
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"\"pretraining_tp\" {PretrainingTp} is not supported (only 1).", path);
        if (MlpBias)
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, "\"mlp_bias\": true is not supported.", path);
        PositiveNumber(QueryPreAttnScalar, "query_pre_attn_scalar", path, required: true);
        PositiveNumber(AttnLogitSoftcapping, "attn_logit_softcapping", path, required: false);
        PositiveNumber(FinalLogitSoftcapping, "final_logit_softcapping", path, required: false);
        if (SlidingWindow is not int window || window <= 0)
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"sliding_window\" must be a positive integer for {ModelType}, not {SlidingWindow?.ToString(CultureInfo.InvariantCulture) ?? "null"}.", path);
        if (UseBidirectionalAttention == true)
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, "\"use_bidirectional_attention\": true (an embedding model) is not supported; only causal decoders are.", path);
        if (RopeParameters is { ValueKind: not JsonValueKind.Null } parameters)
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"\"rope_parameters\" {parameters.GetRawText()} is not supported; give rope_theta (and rope_scaling) instead.", path);
        if (LayerTypes is { } types)
        {
            if (types.Length != NumHiddenLayers)
                throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"layer_types\" has {types.Length} entries; \"num_hidden_layers\" is {NumHiddenLayers}.", path);
            foreach (string type in types)
                if (type is not (SlidingAttention or FullAttention))
                    throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"\"layer_types\" entry \"{type}\" is not supported (only {SlidingAttention} and {FullAttention}).", path);
        }
        if (ModelType == Gemma2)
        {
            if (RopeScaling is { ValueKind: not JsonValueKind.Null } scaling)
                throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"\"rope_scaling\" {scaling.GetRawText()} is not supported for gemma2; only plain RoPE is implemented.", path);
        }
        else
        {
            if (SlidingWindowPattern is int pattern && pattern <= 0)
                throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"sliding_window_pattern\" must be a positive integer, not {pattern}.", path);
            PositiveNumber(RopeLocalBaseFreq, "rope_local_base_freq", path, required: false);
            ValidateLinearRopeScaling(path);
        }
        if (BosTokenId is int bos && (bos < 0 || bos >= VocabSize))
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"bos_token_id\" {bos} is outside the vocabulary (size {VocabSize}).", path);
    }

    /// <summary>Gemma 3's <c>rope_scaling</c>: absent, null, <c>default</c>, or <c>linear</c> with a positive factor.</summary>
    private void ValidateLinearRopeScaling(string path)
    {
        if (RopeScaling is not { ValueKind: not JsonValueKind.Null } scaling) return;
        string text = scaling.GetRawText();
        if (scaling.ValueKind != JsonValueKind.Object)
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"rope_scaling\" {text} must be an object.", path);
        string? type = null;
        foreach (string key in new[] { "rope_type", "type" })
            if (scaling.TryGetProperty(key, out var t) && t.ValueKind == JsonValueKind.String) type = t.GetString();
        foreach (var property in scaling.EnumerateObject())
            if (property.Name is not ("rope_type" or "type" or "factor"))
                throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"\"rope_scaling\" {text}: key \"{property.Name}\" is not supported (only linear scaling with a factor).", path);
        if (type == "default") return;
        if (type != "linear")
            throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"\"rope_scaling\" {text} is not supported for gemma3_text; only \"linear\" scaling is implemented.", path);
        if (!scaling.TryGetProperty("factor", out var factor) || factor.ValueKind != JsonValueKind.Number || !(factor.GetDouble() >= 1) || double.IsInfinity(factor.GetDouble()))
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"rope_scaling\" {text} needs a \"factor\" of at least 1.", path);
    }

    private static void PositiveNumber(double? value, string key, string path, bool required)
    {
        if (value is null)
        {
            if (required) throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"{key}\" is required.", path);
            return;
        }
        if (!(value > 0) || double.IsInfinity(value.Value))
            throw new OptimizerException(ErrorCodes.ConfigInvalid, $"\"{key}\" must be a positive number or null, not {value.Value.ToString("R", CultureInfo.InvariantCulture)}.", path);
    }
}
