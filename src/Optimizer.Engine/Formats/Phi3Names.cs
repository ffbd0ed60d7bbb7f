using System.Globalization;

namespace Optimizer.Engine.Formats;

/// <summary>
/// The fused projections of a phi3 checkpoint (docs/model-families.md, "Phi-3"): <c>self_attn.qkv_proj.weight</c>
/// [(H + 2·KV)·D, hidden] holds the q rows, then the k rows, then the v rows; <c>mlp.gate_up_proj.weight</c>
/// [2·I, hidden] the gate rows, then the up rows. <see cref="FusedTensorSource"/> presents them under the Llama names
/// (<see cref="LlamaTensorNames"/>) so that the forward pass, analysis, transforms and quantization see a Llama layer.
/// </summary>
public static class Phi3Names
{
    /// <summary>The fused attention projection of <paramref name="layer"/>.</summary>
    public static string Qkv(int layer) => string.Format(CultureInfo.InvariantCulture, "model.layers.{0}.self_attn.qkv_proj.weight", layer);

    /// <summary>The fused gate/up projection of <paramref name="layer"/>.</summary>
    public static string GateUp(int layer) => string.Format(CultureInfo.InvariantCulture, "model.layers.{0}.mlp.gate_up_proj.weight", layer);

    /// <summary>The fused tensor that holds <paramref name="role"/> (Q, K, V or Gate, Up), or null for other roles.</summary>
    public static string? FusedName(TensorRole role, int layer) => role switch
    {
        TensorRole.Q or TensorRole.K or TensorRole.V => Qkv(layer),
        TensorRole.Gate or TensorRole.Up => GateUp(layer),
        _ => null,
    };

    /// <summary>
    /// Every fused tensor of <paramref name="config"/>: its name, its full shape, and its parts in row order (role, first
    /// row, row count).
    /// </summary>
    public static IEnumerable<(string Name, long[] Shape, (TensorRole Role, long FirstRow, long Rows)[] Parts)> Fused(ModelConfig config)
    {
        long hidden = config.HiddenSize, q = (long)config.NumAttentionHeads * config.HeadDim, kv = (long)config.KeyValueHeads * config.HeadDim;
        long ffn = config.IntermediateSize;
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            yield return (Qkv(layer), new[] { q + 2 * kv, hidden },
                new[] { (TensorRole.Q, 0L, q), (TensorRole.K, q, kv), (TensorRole.V, q + kv, kv) });
            yield return (GateUp(layer), new[] { 2 * ffn, hidden },
                new[] { (TensorRole.Gate, 0L, ffn), (TensorRole.Up, ffn, ffn) });
        }
    }
}
