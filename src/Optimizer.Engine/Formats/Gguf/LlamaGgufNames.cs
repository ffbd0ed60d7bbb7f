using System.Globalization;

namespace Optimizer.Engine.Formats.Gguf;

/// <summary>llama.cpp's tensor names for the Llama-family roles (gguf-py <c>TENSOR_NAMES</c>, <c>MODEL_TENSOR</c>).</summary>
public static class LlamaGgufNames
{
    /// <summary>The GGUF name of <paramref name="role"/> in <paramref name="layer"/> (ignored for model-level roles).</summary>
    public static string Name(TensorRole role, int layer = 0)
    {
        string block = "blk." + layer.ToString(CultureInfo.InvariantCulture) + ".";
        return role switch
        {
            TensorRole.TokenEmbedding => "token_embd.weight",
            TensorRole.FinalNorm => "output_norm.weight",
            TensorRole.OutputHead => "output.weight",
            TensorRole.AttnNorm => block + "attn_norm.weight",
            TensorRole.Q => block + "attn_q.weight",
            TensorRole.K => block + "attn_k.weight",
            TensorRole.V => block + "attn_v.weight",
            TensorRole.O => block + "attn_output.weight",
            TensorRole.QBias => block + "attn_q.bias",
            TensorRole.KBias => block + "attn_k.bias",
            TensorRole.VBias => block + "attn_v.bias",
            TensorRole.OBias => block + "attn_output.bias",
            TensorRole.FfnNorm => block + "ffn_norm.weight",
            TensorRole.Gate => block + "ffn_gate.weight",
            TensorRole.Up => block + "ffn_up.weight",
            TensorRole.Down => block + "ffn_down.weight",
            TensorRole.QNorm => block + "attn_q_norm.weight",
            TensorRole.KNorm => block + "attn_k_norm.weight",
            TensorRole.PostAttnNorm => block + "post_attention_norm.weight",
            TensorRole.PostFfnNorm => block + "post_ffw_norm.weight",
            _ => throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown tensor role."),
        };
    }

    /// <summary>
    /// The llama.cpp architecture a config is written as: <c>qwen2</c> and <c>qwen3</c> as themselves, <c>llama</c> for
    /// llama and mistral (llama.cpp runs Mistral checkpoints as llama).
    /// </summary>
    public static string Architecture(ModelConfig config) => config.ModelType switch
    {
        "qwen2" or "qwen3" or "phi3" => config.ModelType,
        ModelConfig.Gemma2 => "gemma2",
        ModelConfig.Gemma3Text => "gemma3",
        _ => "llama",
    };

    /// <summary>
    /// llama.cpp's phi3 names of the fused tensors (docs/model-families.md, "Phi-3"): <c>attn_qkv</c> for the q role (q, k,
    /// v rows), <c>ffn_up</c> for the gate role (gate rows, then up rows).
    /// </summary>
    public static string FusedName(TensorRole role, int layer) => role switch
    {
        TensorRole.Q => "blk." + layer.ToString(CultureInfo.InvariantCulture) + ".attn_qkv.weight",
        TensorRole.Gate => Name(TensorRole.Up, layer),
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "Only q (attn_qkv) and gate (ffn_up) name fused tensors."),
    };

    /// <summary>
    /// The role whose quantization rules decide the GGUF type of <paramref name="role"/>'s stored tensor: phi3's q, k, v
    /// live in the fused attn_qkv, which llama.cpp's quantizer treats as attn_v, and its gate and up in the fused ffn_up;
    /// every other role is itself. The exporter, the evaluation's round trip and the error-compensating encoder all ask
    /// here, so each part is encoded in the type of the tensor it is written into (docs/model-families.md, "Phi-3").
    /// </summary>
    public static TensorRole TypeRole(TensorRole role, ModelConfig config) => !config.HasFusedProjections ? role : role switch
    {
        TensorRole.Q or TensorRole.K or TensorRole.V => TensorRole.V,
        TensorRole.Gate or TensorRole.Up => TensorRole.Up,
        _ => role,
    };

    /// <summary>llama.cpp's longrope factors for contexts beyond the original one (<c>LLM_TENSOR_ROPE_FACTORS_LONG</c>).</summary>
    public const string RopeFactorsLong = "rope_factors_long.weight";

    /// <summary>llama.cpp's longrope factors up to the original context (<c>LLM_TENSOR_ROPE_FACTORS_SHORT</c>).</summary>
    public const string RopeFactorsShort = "rope_factors_short.weight";

    /// <summary>The name of llama.cpp's per-pair RoPE frequency divisors tensor (<c>LLM_TENSOR_ROPE_FREQS</c>).</summary>
    public const string RopeFrequencies = "rope_freqs.weight";

    /// <summary>
    /// The number of heads whose q/k rows (weights and biases) are reordered between Hugging Face's rotate-half RoPE
    /// layout and llama.cpp's interleaved one: the attention heads for q, the key/value heads for k; 0 when
    /// <paramref name="role"/> is not permuted (other roles, and every role of the qwen2 architecture, which llama.cpp
    /// runs with the rotate-half (NEOX) RoPE, and of qwen3).
    /// </summary>
    public static int PermutedHeads(TensorRole role, ModelConfig config)
    {
        if (Architecture(config) != "llama") return 0;
        return role switch
        {
            TensorRole.Q or TensorRole.QBias => config.NumAttentionHeads,
            TensorRole.K or TensorRole.KBias => config.KeyValueHeads,
            _ => 0,
        };
    }
}
