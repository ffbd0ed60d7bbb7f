using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// Applies one <see cref="LayerTransform"/> to the float values of a layer tensor (HF layout, linears [out, in]
/// row-major). Each element is multiplied by its combined factor in double precision and rounded to float once.
/// </summary>
internal static class LayerTransformer
{
    /// <summary>The roles of a layer that <paramref name="transform"/> changes.</summary>
    public static IEnumerable<TensorRole> Roles(LayerTransform transform, ModelConfig config)
    {
        bool attn = transform.AttnColumns is not null, ffn = transform.FfnColumns is not null, qk = transform.QkRows is not null;
        bool y6 = transform.Y6 is not null, clamp = transform.Clamp is not null, vo = transform.ValueRows is not null;
        if (attn) yield return TensorRole.AttnNorm;
        // With per-head q/k norms (qwen3) the q·k balancing acts on the norms' γ: scaling q_proj rows would change
        // each head's RMS and with it every channel of the head.
        bool qkRows = qk && !config.HasQkNorm;
        if (attn || qkRows) { yield return TensorRole.Q; yield return TensorRole.K; }
        if (attn || vo) yield return TensorRole.V;
        if (qk && config.HasQkNorm) { yield return TensorRole.QNorm; yield return TensorRole.KNorm; }
        if (qkRows && config.HasQkvBias) { yield return TensorRole.QBias; yield return TensorRole.KBias; }
        if (vo && config.HasQkvBias) yield return TensorRole.VBias;
        if (vo) yield return TensorRole.O;
        if (ffn) { yield return TensorRole.FfnNorm; yield return TensorRole.Gate; }
        if (ffn || y6 || clamp) yield return TensorRole.Up;
        if (y6) yield return TensorRole.Down;
    }

    /// <summary>Rescales <paramref name="values"/> (the tensor of <paramref name="role"/>) in place.</summary>
    public static void Apply(TensorRole role, float[] values, LayerTransform t, ModelConfig config)
    {
        int hidden = config.HiddenSize, headDim = config.HeadDim, group = config.NumAttentionHeads / config.KeyValueHeads;
        switch (role)
        {
            case TensorRole.AttnNorm: DivideVector(values, t.AttnColumns!, config); break;
            case TensorRole.FfnNorm: DivideVector(values, t.FfnColumns!, config); break;
            case TensorRole.Q:
                Matrix(values, hidden, row => config.HasQkNorm ? 1 : QueryRowFactor(t, row, headDim, group), t.AttnColumns);
                break;
            case TensorRole.K:
                Matrix(values, hidden, row => config.HasQkNorm ? 1 : t.QkRows?[row] ?? 1, t.AttnColumns);
                break;
            case TensorRole.QNorm:
                // One γ for every head: OtcBalancing gives every key/value head the same factor per dimension.
                DivideVector(values, t.QkRows!, config);
                break;
            case TensorRole.KNorm:
                DivideVector(values, t.QkRows!.Select(r => 1 / r).ToArray(), config);
                break;
            case TensorRole.V:
                Matrix(values, hidden, row => 1 / (t.ValueRows?[row] ?? 1), t.AttnColumns);
                break;
            case TensorRole.VBias:
                for (int row = 0; row < values.Length; row++) values[row] = (float)(values[row] / t.ValueRows![row]);
                break;
            case TensorRole.O:
                Matrix(values, config.NumAttentionHeads * headDim, _ => 1, OutputColumns(t.ValueRows!, config));
                break;
            case TensorRole.QBias:
                for (int row = 0; row < values.Length; row++) values[row] = (float)(values[row] * QueryRowFactor(t, row, headDim, group));
                break;
            case TensorRole.KBias:
                for (int row = 0; row < values.Length; row++) values[row] = (float)(values[row] * t.QkRows![row]);
                break;
            case TensorRole.Gate:
                Matrix(values, hidden, _ => 1, t.FfnColumns);
                break;
            case TensorRole.Up:
                Matrix(values, hidden, row => (t.Clamp?[row] ?? 1) / (t.Y6?[row] ?? 1), t.FfnColumns);
                break;
            case TensorRole.Down:
                Matrix(values, config.IntermediateSize, _ => 1, t.Y6);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(role), role, "Not a tensor a layer transform changes.");
        }
    }

    /// <summary>The o_proj column factors of key/value channel scales: column h·head_dim + d gets s[(h / group)·head_dim + d].</summary>
    internal static double[] OutputColumns(double[] valueRows, ModelConfig config)
    {
        int headDim = config.HeadDim, group = config.NumAttentionHeads / config.KeyValueHeads;
        var columns = new double[config.NumAttentionHeads * headDim];
        for (int c = 0; c < columns.Length; c++) columns[c] = valueRows[c / headDim / group * headDim + c % headDim];
        return columns;
    }

    private static double QueryRowFactor(LayerTransform t, int row, int headDim, int group)
    {
        if (t.QkRows is null) return 1;
        int head = row / headDim, dim = row % headDim;
        return 1 / t.QkRows[head / group * headDim + dim];
    }

    /// <summary>
    /// Divides a norm's multiplier by <paramref name="scales"/>: γ ← γ / s, or for Gemma's 1 + γ convention
    /// γ ← (1 + γ) / s − 1 (so the new multiplier 1 + γ equals the old one over s; docs/model-families.md, "Gemma 2 and Gemma 3 text").
    /// </summary>
    private static void DivideVector(float[] values, double[] scales, ModelConfig config)
    {
        if (config.IsGemma)
        {
            for (int i = 0; i < values.Length; i++) values[i] = (float)((1.0 + values[i]) / scales[i] - 1.0);
            return;
        }
        for (int i = 0; i < values.Length; i++) values[i] = (float)(values[i] / scales[i]);
    }

    /// <summary>W[r, c] ← W[r, c] · rowFactor(r) · columns[c] (columns null: 1).</summary>
    private static void Matrix(float[] values, int width, Func<int, double> rowFactor, double[]? columns)
    {
        if (columns is not null && columns.Length != width)
            throw new OptimizerException(ErrorCodes.TransformPlanMismatch, $"A column scale vector has {columns.Length} entries for a matrix {width} wide.");
        int rows = values.Length / width;
        for (int r = 0; r < rows; r++)
        {
            double factor = rowFactor(r);
            var row = values.AsSpan(r * width, width);
            if (columns is null)
            {
                if (factor == 1) continue;
                for (int c = 0; c < width; c++) row[c] = (float)(row[c] * factor);
            }
            else
            {
                for (int c = 0; c < width; c++) row[c] = (float)(row[c] * factor * columns[c]);
            }
        }
    }
}
