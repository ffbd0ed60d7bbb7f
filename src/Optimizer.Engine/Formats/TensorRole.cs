namespace Optimizer.Engine.Formats;

/// <summary>The role of a weight in a Llama-family decoder. Code uses roles and layer indices, never name parsing.</summary>
public enum TensorRole
{
    TokenEmbedding,
    FinalNorm,
    OutputHead,
    AttnNorm,
    Q,
    K,
    V,
    O,
    QBias,
    KBias,
    VBias,
    OBias,
    FfnNorm,
    Gate,
    Up,
    Down,
    /// <summary>Per-head RMSNorm γ of the queries (qwen3, Gemma 3), [head_dim], before RoPE.</summary>
    QNorm,
    /// <summary>Per-head RMSNorm γ of the keys (qwen3, Gemma 3), [head_dim], before RoPE.</summary>
    KNorm,
    /// <summary>RMSNorm of the attention output before the residual add (Gemma <c>post_attention_layernorm</c>).</summary>
    PostAttnNorm,
    /// <summary>RMSNorm of the FFN output before the residual add (Gemma <c>post_feedforward_layernorm</c>).</summary>
    PostFfnNorm,
}
