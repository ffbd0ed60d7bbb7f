namespace Optimizer.Engine.Model;

/// <summary>
/// An operator position inside a decoder layer where an activation can be observed (PAPER-NOTES §2).
/// The numeric values are not stable across versions; persist <see cref="ProbeSites.Id"/> instead.
/// </summary>
public enum ProbeSite
{
    /// <summary><c>attn.y1</c>: attention sub-block input, the residual stream entering the layer.</summary>
    AttnY1,
    /// <summary><c>attn.norm_in</c>: <c>x / rms(x)</c> of the input norm, before γ.</summary>
    AttnNormIn,
    /// <summary><c>attn.y2</c>: output of <c>input_layernorm</c> (γ applied) = input of q/k/v_proj.</summary>
    AttnY2,
    /// <summary><c>attn.q</c>: q_proj output (bias included), before RoPE, heads concatenated.</summary>
    AttnQ,
    /// <summary><c>attn.k</c>: k_proj output (bias included), before RoPE, key/value heads concatenated.</summary>
    AttnK,
    /// <summary><c>attn.q_norm</c>: queries after the per-head q_norm (qwen3 only), before RoPE, heads concatenated.</summary>
    AttnQNorm,
    /// <summary><c>attn.k_norm</c>: keys after the per-head k_norm (qwen3 only), before RoPE, key/value heads concatenated.</summary>
    AttnKNorm,
    /// <summary><c>attn.v</c>: v_proj output (bias included), key/value heads concatenated.</summary>
    AttnV,
    /// <summary><c>attn.out</c>: attention output, heads concatenated = o_proj input.</summary>
    AttnOut,
    /// <summary><c>attn.o</c>: o_proj output (bias included).</summary>
    AttnO,
    /// <summary><c>y1</c>: residual after attention = FFN sub-block input.</summary>
    Y1,
    /// <summary><c>norm_in</c>: <c>y1 / rms(y1)</c> of <c>post_attention_layernorm</c>, before γ.</summary>
    NormIn,
    /// <summary><c>y2</c>: output of <c>post_attention_layernorm</c> (γ applied).</summary>
    Y2,
    /// <summary><c>y3</c>: gate_proj output.</summary>
    Y3,
    /// <summary><c>y4</c>: up_proj output.</summary>
    Y4,
    /// <summary><c>y5</c>: SiLU(y3).</summary>
    Y5,
    /// <summary><c>y6</c>: y5 ⊙ y4 = down_proj input.</summary>
    Y6,
    /// <summary><c>y7</c>: down_proj output.</summary>
    Y7,
    /// <summary><c>y8</c>: y1 + y7 = decoder layer output (Gemma: y1 + post_norm).</summary>
    Y8,
    /// <summary><c>attn.post_norm</c>: output of the post-attention norm (Gemma), added to the residual to give y1.</summary>
    AttnPostNorm,
    /// <summary><c>post_norm</c>: output of the post-FFN norm applied to y7 (Gemma), added to y1 to give y8.</summary>
    PostNorm,
}

/// <summary>The table of <see cref="ProbeSite"/> string ids (stable; used in manifests and on the command line).</summary>
public static class ProbeSites
{
    private static readonly string[] Ids =
    {
        "attn.y1", "attn.norm_in", "attn.y2", "attn.q", "attn.k", "attn.q_norm", "attn.k_norm", "attn.v", "attn.out", "attn.o",
        "y1", "norm_in", "y2", "y3", "y4", "y5", "y6", "y7", "y8",
        "attn.post_norm", "post_norm",
    };


    private static readonly ProbeSite[] ForwardOrder =
    {
        ProbeSite.AttnY1, ProbeSite.AttnNormIn, ProbeSite.AttnY2, ProbeSite.AttnQ, ProbeSite.AttnK, ProbeSite.AttnQNorm, ProbeSite.AttnKNorm,
        ProbeSite.AttnV, ProbeSite.AttnOut, ProbeSite.AttnO, ProbeSite.AttnPostNorm, ProbeSite.Y1, ProbeSite.NormIn, ProbeSite.Y2,
        ProbeSite.Y3, ProbeSite.Y4, ProbeSite.Y5, ProbeSite.Y6, ProbeSite.Y7, ProbeSite.PostNorm, ProbeSite.Y8,
    };

    /// <summary>Every site any supported family emits, in forward order.</summary>
    public static IReadOnlyList<ProbeSite> All => ForwardOrder;

    /// <summary>
    /// The sites a model of <paramref name="config"/> emits, in forward order: the family's extra norms only where it has
    /// them (<c>attn.q_norm</c>/<c>attn.k_norm</c> with per-head q/k norms, <c>attn.post_norm</c>/<c>post_norm</c> with
    /// Gemma's post norms).
    /// </summary>
    public static IReadOnlyList<ProbeSite> For(Formats.ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return ForwardOrder.Where(s => (config.HasQkNorm || s is not (ProbeSite.AttnQNorm or ProbeSite.AttnKNorm))
            && (config.HasPostNorms || s is not (ProbeSite.AttnPostNorm or ProbeSite.PostNorm))).ToArray();
    }

    /// <summary>The position of <paramref name="site"/> in the forward order of the families that emit it.</summary>
    public static int ForwardRank(ProbeSite site) => Array.IndexOf(ForwardOrder, site);

    /// <summary>The number of sites of every family together (one more than the last <see cref="ForwardRank"/>).</summary>
    public static int ForwardCount => ForwardOrder.Length;

    /// <summary>The stable string id of <paramref name="site"/>, e.g. <c>attn.q</c> or <c>y6</c>.</summary>
    public static string Id(ProbeSite site) => Ids[(int)site];

    /// <summary>Parses a stable id (ordinal, case-sensitive); false when unknown.</summary>
    public static bool TryParse(string id, out ProbeSite site)
    {
        int i = Array.IndexOf(Ids, id);
        site = i >= 0 ? (ProbeSite)i : default;
        return i >= 0;
    }
}
