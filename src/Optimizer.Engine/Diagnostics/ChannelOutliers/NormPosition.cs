namespace Optimizer.Engine.Diagnostics.ChannelOutliers;

/// <summary>The two RMSNorms of a decoder layer.</summary>
public enum NormPosition
{
    /// <summary><c>attn</c>: <c>input_layernorm</c>, pre-γ site attn.norm_in, output attn.y2.</summary>
    Attention,

    /// <summary><c>ffn</c>: <c>post_attention_layernorm</c>, pre-γ site norm_in, output y2.</summary>
    Ffn,
}

/// <summary>Manifest ids and sites of <see cref="NormPosition"/>.</summary>
public static class NormPositions
{
    /// <summary>Both norms, attention first.</summary>
    public static IReadOnlyList<NormPosition> All { get; } = new[] { NormPosition.Attention, NormPosition.Ffn };

    /// <summary><c>attn</c> or <c>ffn</c>.</summary>
    public static string Id(NormPosition norm) => norm == NormPosition.Attention ? "attn" : "ffn";
}
