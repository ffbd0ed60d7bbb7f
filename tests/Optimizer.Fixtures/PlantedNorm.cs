namespace Optimizer.Fixtures;

/// <summary>Which RMSNorm of a decoder layer a γ outlier is planted in.</summary>
public enum PlantedNorm
{
    /// <summary><c>input_layernorm</c>: the attention sub-block's norm; its output is <c>attn.y2</c>.</summary>
    Attention,

    /// <summary><c>post_attention_layernorm</c>: the FFN sub-block's norm; its output is <c>y2</c>.</summary>
    Ffn,
}
