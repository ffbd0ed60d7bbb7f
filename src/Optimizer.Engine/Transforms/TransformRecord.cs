namespace Optimizer.Engine.Transforms;

/// <summary>One parameter of a transform, as text (numbers in invariant round-trip form).</summary>
/// <param name="Name">Parameter name, e.g. <c>alpha</c>.</param>
/// <param name="Value">Its value, e.g. <c>0.5</c>.</param>
public sealed record TransformParameter(string Name, string Value);

/// <summary>What a transform changed in one layer.</summary>
/// <param name="Layer">0-based decoder layer.</param>
/// <param name="Target">
/// <c>attn_norm</c> (channels of input_layernorm, folded into q/k/v columns), <c>ffn_norm</c> (post_attention_layernorm
/// into gate/up columns), <c>qk</c> (key rows; every query row of the GQA group and the RoPE partner share the scale),
/// <c>v_o</c> (key/value channels: v_proj rows ÷ s, o_proj columns of every query head reading the channel × s;
/// docs/smoothing.md) or <c>y6</c> (FFN neurons: up_proj rows, down_proj columns).
/// </param>
/// <param name="Channels">The channels whose scale is not 1, ascending.</param>
/// <param name="MinScale">The smallest of their scales.</param>
/// <param name="MaxScale">The largest of their scales.</param>
public sealed record TransformTouch(int Layer, string Target, IReadOnlyList<int> Channels, double MinScale, double MaxScale);

/// <summary>
/// One planned transform, for the manifest: its name (<see cref="Mitigations.Id"/>), whether it is exact, its
/// parameters, and what it touched. Scales mean: <c>norm</c> and <c>smooth</c> c_j (γ_j ← γ_j / c_j, consumer
/// columns × c_j; <c>smooth</c>'s <c>y6</c> and <c>v_o</c> touches as for <c>tma</c> and <c>v_o</c>), <c>otc</c> r (key rows × r, query rows ÷ r), <c>tma</c> s_k (up_proj row ÷ s_k, down_proj column
/// × s_k), <c>tma-clamp</c> c_k &lt; 1 (up_proj row × c_k, uncompensated).
/// </summary>
/// <param name="Name">The mitigation name.</param>
/// <param name="Exact">True when the transform keeps the model's function.</param>
/// <param name="Parameters">Effective parameters, in a fixed order.</param>
/// <param name="Touched">Per (layer, target), layer-major; empty when the analysis gave the transform nothing to do.</param>
public sealed record TransformRecord(string Name, bool Exact, IReadOnlyList<TransformParameter> Parameters, IReadOnlyList<TransformTouch> Touched)
{
    /// <summary>The layers touched, ascending.</summary>
    public IReadOnlyList<int> Layers => Touched.Select(t => t.Layer).Distinct().Order().ToArray();

    /// <summary>The number of (layer, channel) scales that are not 1.</summary>
    public int ChannelCount => Touched.Sum(t => t.Channels.Count);

    /// <summary>The smallest scale over every touch; null when nothing was touched.</summary>
    public double? MinScale => Touched.Count == 0 ? null : Touched.Min(t => t.MinScale);

    /// <summary>The largest scale over every touch; null when nothing was touched.</summary>
    public double? MaxScale => Touched.Count == 0 ? null : Touched.Max(t => t.MaxScale);
}
