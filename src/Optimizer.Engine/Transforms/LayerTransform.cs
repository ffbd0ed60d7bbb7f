namespace Optimizer.Engine.Transforms;

/// <summary>
/// The diagonal rescalings (and approximate clamps) of one decoder layer. Every array is null when the layer has no
/// such transform; otherwise it holds one finite, non-zero factor per channel (1 for untouched channels).
/// </summary>
public sealed class LayerTransform
{
    internal LayerTransform(int layer) => Layer = layer;

    /// <summary>0-based decoder layer.</summary>
    public int Layer { get; }

    /// <summary>Per hidden channel i: input_layernorm γ_i ← γ_i / c_i; q/k/v_proj columns i × c_i (exact).</summary>
    public IReadOnlyList<double>? AttnColumnScales => AttnColumns;

    /// <summary>Per hidden channel i: post_attention_layernorm γ_i ← γ_i / c_i; gate/up_proj columns i × c_i (exact).</summary>
    public IReadOnlyList<double>? FfnColumnScales => FfnColumns;

    /// <summary>
    /// Per key row g·head_dim + d (key/value head g): k_proj row (and bias) × r; q_proj rows h·head_dim + d (and bias) ÷ r
    /// for every query head h of the group g (exact: RoPE pairs d, d + head_dim/2 share r, so every q·k logit is kept).
    /// </summary>
    public IReadOnlyList<double>? QkRowScales => QkRows;

    /// <summary>Per FFN neuron k: up_proj row k ÷ s_k, down_proj column k × s_k (exact: y6 = silu(gate)·up).</summary>
    public IReadOnlyList<double>? Y6Scales => Y6;

    /// <summary>
    /// Per key/value channel j = g·head_dim + d: v_proj row j (and bias) ÷ s_j, o_proj column h·head_dim + d × s_j for
    /// every query head h of the group g (exact: attention output channel h·head_dim + d is a convex combination of
    /// v channel j, so it is divided by s_j too; docs/smoothing.md).
    /// </summary>
    public IReadOnlyList<double>? ValueRowScales => ValueRows;

    /// <summary>Per FFN neuron k: up_proj row k × c_k with c_k ≤ 1, uncompensated (approximate).</summary>
    public IReadOnlyList<double>? ClampFactors => Clamp;

    /// <summary>Whether the layer changes at all.</summary>
    public bool IsIdentity => AttnColumns is null && FfnColumns is null && QkRows is null && Y6 is null && ValueRows is null && Clamp is null;

    internal double[]? AttnColumns { get; set; }
    internal double[]? FfnColumns { get; set; }
    internal double[]? QkRows { get; set; }
    internal double[]? Y6 { get; set; }
    internal double[]? ValueRows { get; set; }
    internal double[]? Clamp { get; set; }

    /// <summary>A new array of <paramref name="length"/> ones.</summary>
    internal static double[] Ones(int length)
    {
        var ones = new double[length];
        Array.Fill(ones, 1.0);
        return ones;
    }
}
