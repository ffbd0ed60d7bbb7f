using System.Globalization;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// What llama.cpp's <c>gemma2</c> and <c>gemma3</c> architectures need beyond the Llama keys (docs/model-families.md, "Gemma 2 and Gemma 3 text"):
/// the soft-capping values, the sliding window, Gemma 3's local RoPE base and linear scaling, norm weights stored as
/// the multiplier <c>1 + γ</c> (llama.cpp's converter adds 1; its graph multiplies by the stored weight), no q/k
/// permutation (NEOX RoPE). Configs llama.cpp would run differently are refused, naming the key.
/// </summary>
public static class GemmaGguf
{
    /// <summary>The GGUF architecture-scoped keys llama.cpp reads for Gemma.</summary>
    public const string AttnLogitSoftcapping = "attn_logit_softcapping", FinalLogitSoftcapping = "final_logit_softcapping",
        SlidingWindow = "attention.sliding_window", RopeFreqBaseSwa = "rope.freq_base_swa",
        RopeScalingType = "rope.scaling.type", RopeScalingFactor = "rope.scaling.factor";

    /// <summary>Whether <paramref name="role"/> is an RMSNorm weight (stored as 1 + γ for Gemma).</summary>
    public static bool IsNorm(TensorRole role) => role is TensorRole.AttnNorm or TensorRole.FfnNorm or TensorRole.FinalNorm
        or TensorRole.PostAttnNorm or TensorRole.PostFfnNorm or TensorRole.QNorm or TensorRole.KNorm;

    /// <summary>The values written for a tensor: Gemma norm weights become 1 + γ (float32); everything else unchanged.</summary>
    public static float[] Stored(ModelConfig config, TensorRole role, float[] values) =>
        config.IsGemma && IsNorm(role) ? NormScale.Effective(config, values) : values;

    /// <summary>
    /// Throws <see cref="ErrorCodes.GgufArchitectureUnsupported"/> when llama.cpp would run the Gemma config
    /// differently from Hugging Face: untied head, another sliding-layer pattern than llama.cpp's fixed one (every
    /// second layer for gemma2, five of six for gemma3), a query_pre_attn_scalar other than the one llama.cpp derives,
    /// gemma2 without both soft-caps, gemma3 with any soft-cap or a local RoPE base other than 10000.
    /// </summary>
    public static void Check(ModelConfig config, string path)
    {
        if (!config.IsGemma) return;
        void Fail(string why) => throw new OptimizerException(ErrorCodes.GgufArchitectureUnsupported,
            $"This {config.ModelType} model cannot be written as GGUF: {why}", path);
        if (!config.TieWordEmbeddings) Fail("llama.cpp's Gemma graph always uses the token embedding as the output head, but \"tie_word_embeddings\" is false.");
        bool gemma2 = config.ModelType == ModelConfig.Gemma2;
        int period = gemma2 ? 2 : ModelConfig.Gemma3DefaultSlidingPattern;
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
            if (config.IsSlidingLayer(layer) != (layer % period < period - 1))
                Fail($"layer {layer} is {(config.IsSlidingLayer(layer) ? "sliding" : "global")}, but llama.cpp fixes the pattern to {period - 1} sliding layer(s) of every {period}.");
        // llama.cpp scales queries by 1/sqrt(head_dim), or 1/sqrt(hidden/heads) for the 27B sizes (46 / 62 layers).
        bool is27B = config.NumHiddenLayers == (gemma2 ? 46 : 62);
        double expected = is27B ? config.HiddenSize / config.NumAttentionHeads : config.HeadDim;
        if (config.QueryPreAttnScalar is double q && q != expected)
            Fail($"\"query_pre_attn_scalar\" is {Text(q)}, but llama.cpp scales the queries as if it were {Text(expected)}.");
        if (gemma2)
        {
            if (config.AttnLogitSoftcapping is null) Fail("llama.cpp always soft-caps gemma2 attention logits, but \"attn_logit_softcapping\" is null.");
            if (config.FinalLogitSoftcapping is null) Fail("llama.cpp always soft-caps gemma2 final logits, but \"final_logit_softcapping\" is null.");
        }
        else
        {
            if (config.AttnLogitSoftcapping is double a) Fail($"llama.cpp does not soft-cap gemma3 attention logits, but \"attn_logit_softcapping\" is {Text(a)}.");
            if (config.FinalLogitSoftcapping is double f) Fail($"llama.cpp's gemma3 graph does not soft-cap final logits, but \"final_logit_softcapping\" is {Text(f)}.");
            if ((config.RopeLocalBaseFreq ?? 10000.0) != 10000.0)
                Fail($"llama.cpp fixes gemma3's local RoPE base to 10000, but \"rope_local_base_freq\" is {Text(config.RopeLocalBaseFreq!.Value)}.");
        }
    }

    /// <summary>The Gemma hyper-parameters after the Llama ones.</summary>
    public static void AddHyperParameters(GgufWriter writer, string arch, ModelConfig config)
    {
        if (!config.IsGemma) return;
        writer.Add(GgufKeys.Arch(arch, SlidingWindow), (uint)config.SlidingWindow!.Value);
        if (config.AttnLogitSoftcapping is double a) writer.Add(GgufKeys.Arch(arch, AttnLogitSoftcapping), (float)a);
        if (config.FinalLogitSoftcapping is double f) writer.Add(GgufKeys.Arch(arch, FinalLogitSoftcapping), (float)f);
        if (config.IsGemma3)
        {
            // rope.scaling.type/factor (linear) are written with the Llama keys from rope_scaling.
            writer.Add(GgufKeys.Arch(arch, RopeFreqBaseSwa), (float)(config.RopeLocalBaseFreq ?? 10000.0));
        }
    }

    /// <summary>
    /// Completes the config a <c>gemma2</c>/<c>gemma3</c> GGUF file describes, as llama.cpp runs it: the sliding window
    /// and layer pattern (its <c>attention.sliding_window_pattern</c> period or the fixed default), the soft-caps (gemma2
    /// defaults 50 and 30 when absent), the query scale llama.cpp derives, Gemma 3's local RoPE base and linear scaling.
    /// </summary>
    internal static void ReadConfig(GgufFile file, string arch, ModelConfig config)
    {
        var m = file.Metadata;
        string K(string key) => GgufKeys.Arch(arch, key);
        bool gemma2 = arch == "gemma2";
        config.ModelType = gemma2 ? ModelConfig.Gemma2 : ModelConfig.Gemma3Text;
        config.Architectures = new[] { gemma2 ? "Gemma2ForCausalLM" : "Gemma3ForCausalLM" };
        config.HiddenActivation = "gelu_pytorch_tanh";
        config.HiddenAct = "gelu_pytorch_tanh";
        config.HeadDimOverride = config.HeadDim;
        config.SlidingWindow = m.FindInt32(K(SlidingWindow)) ?? 4096;
        int period = m.FindInt32(K("attention.sliding_window_pattern")) ?? (gemma2 ? 2 : ModelConfig.Gemma3DefaultSlidingPattern);
        if (period <= 0)
            throw new OptimizerException(ErrorCodes.GgufModelInvalid, $"GGUF '{K("attention.sliding_window_pattern")}' is {period}; it must be positive.", file.Path);
        config.LayerTypes = Enumerable.Range(0, config.NumHiddenLayers)
            .Select(l => l % period < period - 1 ? ModelConfig.SlidingAttention : ModelConfig.FullAttention).ToArray();
        bool is27B = config.NumHiddenLayers == (gemma2 ? 46 : 62);
        config.QueryPreAttnScalar = is27B ? config.HiddenSize / config.NumAttentionHeads : config.HeadDim;
        double? attnCap = m.FindFloat(K(AttnLogitSoftcapping)), finalCap = m.FindFloat(K(FinalLogitSoftcapping));
        config.AttnLogitSoftcapping = gemma2 ? Shortest(attnCap ?? 50.0) : null;
        config.FinalLogitSoftcapping = gemma2 ? Shortest(finalCap ?? 30.0) : finalCap is double f && f != 0 ? Shortest(f) : null;
        if (!gemma2)
        {
            config.RopeLocalBaseFreq = Shortest(m.FindFloat(K(RopeFreqBaseSwa)) ?? 10000.0);
            string? type = m.Find(K(RopeScalingType)) is null ? null : m.GetString(K(RopeScalingType));
            if (type is not (null or "none" or "linear"))
                throw new OptimizerException(ErrorCodes.UnsupportedConfigValue, $"GGUF '{K(RopeScalingType)}' \"{type}\" is not supported for gemma3 (only linear).", file.Path);
            if (type == "linear" && m.FindFloat(K(RopeScalingFactor)) is double factor && factor != 1)
                config.RopeScaling = System.Text.Json.JsonDocument.Parse(
                    $"{{\"rope_type\": \"linear\", \"factor\": {Shortest(factor).ToString("R", CultureInfo.InvariantCulture)}}}").RootElement.Clone();
        }
    }

    private static double Shortest(double value)
    {
        float single = (float)value;
        if (single != value || !float.IsFinite(single)) return value;
        return double.Parse(single.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
