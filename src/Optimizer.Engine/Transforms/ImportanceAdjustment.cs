using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Quantization.Imatrix;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// Carries an importance matrix of the original model over to the model a <see cref="TransformPlan"/> produces. Every
/// transform of the plan is diagonal on the inputs of the linear weights: γ flattening and SmoothQuant divide input
/// column i of q/k/v_proj (gate/up_proj) by c_i and multiply the weight column by c_i; TMA smoothing divides y6_k, the
/// input of down_proj, by s_k; smoothing of the o/v group divides o_proj's input channels by the scale of the value
/// channel they read; the TMA clamp multiplies y6_k by c_k ≤ 1. So the transformed inputs' sums are
/// Σx²/d² and Σx/d per column. For the exact transforms this is exact (they leave every other activation as it was);
/// the clamp changes the activations of the layers after it, which a carried-over matrix cannot know, so with a clamp
/// the result is exact only up to the clamped layer (the optimize pipeline warns).
/// </summary>
public static class ImportanceAdjustment
{
    /// <summary>The per-column divisor d of each linear weight's input that <paramref name="plan"/> changes (GGUF names).</summary>
    public static IReadOnlyDictionary<string, double[]> InputDivisors(TransformPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var divisors = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var layer in plan.Layers)
        {
            if (layer.AttnColumns is { } attn)
                foreach (var role in new[] { TensorRole.Q, TensorRole.K, TensorRole.V }) divisors[LlamaGgufNames.Name(role, layer.Layer)] = (double[])attn.Clone();
            if (layer.FfnColumns is { } ffn)
                foreach (var role in new[] { TensorRole.Gate, TensorRole.Up }) divisors[LlamaGgufNames.Name(role, layer.Layer)] = (double[])ffn.Clone();
            if (layer.ValueRows is { } values)
            {
                // o_proj's input (the attention output) channel h·head_dim + d is divided by the scale of v channel
                // (h / group)·head_dim + d (docs/smoothing.md).
                int headDim = plan.HeadDim, group = plan.AttentionHeads / plan.KeyValueHeads;
                var o = new double[plan.AttentionHeads * headDim];
                for (int c = 0; c < o.Length; c++) o[c] = values[c / headDim / group * headDim + c % headDim];
                divisors[LlamaGgufNames.Name(TensorRole.O, layer.Layer)] = o;
            }
            if (layer.Y6 is not null || layer.Clamp is not null)
            {
                int width = (layer.Y6 ?? layer.Clamp)!.Length;
                var down = new double[width];
                for (int k = 0; k < width; k++) down[k] = (layer.Y6?[k] ?? 1) / (layer.Clamp?[k] ?? 1);
                divisors[LlamaGgufNames.Name(TensorRole.Down, layer.Layer)] = down;
            }
        }
        return divisors;
    }

    /// <summary>
    /// <paramref name="matrix"/> (of the original model's inputs) rescaled to the inputs of the weights
    /// <paramref name="plan"/> produces. Exact when <see cref="TransformPlan.IsExact"/>.
    /// </summary>
    public static ImportanceMatrix Apply(ImportanceMatrix matrix, TransformPlan plan)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        return plan.IsIdentity ? matrix : matrix.WithInputDivisors(InputDivisors(plan));
    }
}
