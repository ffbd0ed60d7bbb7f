namespace Optimizer.Engine.Formats;

/// <summary>
/// The table of Llama-family weights: role, Hugging Face name, expected shape (PyTorch order, [out, in] for linears)
/// for a given <see cref="ModelConfig"/>, and whether the config makes it present.
/// </summary>
public static class LlamaTensorNames
{
    private sealed record Row(TensorRole Role, string Template, bool PerLayer, Func<ModelConfig, long[]> Shape, Func<ModelConfig, bool> Present);

    private static readonly Row[] Rows =
    {
        new(TensorRole.TokenEmbedding, "model.embed_tokens.weight", false, c => new long[] { c.VocabSize, c.HiddenSize }, _ => true),
        new(TensorRole.FinalNorm, "model.norm.weight", false, c => new long[] { c.HiddenSize }, _ => true),
        new(TensorRole.OutputHead, "lm_head.weight", false, c => new long[] { c.VocabSize, c.HiddenSize }, c => !c.TieWordEmbeddings),
        new(TensorRole.AttnNorm, "model.layers.{0}.input_layernorm.weight", true, c => new long[] { c.HiddenSize }, _ => true),
        new(TensorRole.Q, "model.layers.{0}.self_attn.q_proj.weight", true, c => new long[] { (long)c.NumAttentionHeads * c.HeadDim, c.HiddenSize }, _ => true),
        new(TensorRole.K, "model.layers.{0}.self_attn.k_proj.weight", true, c => new long[] { (long)c.KeyValueHeads * c.HeadDim, c.HiddenSize }, _ => true),
        new(TensorRole.V, "model.layers.{0}.self_attn.v_proj.weight", true, c => new long[] { (long)c.KeyValueHeads * c.HeadDim, c.HiddenSize }, _ => true),
        new(TensorRole.O, "model.layers.{0}.self_attn.o_proj.weight", true, c => new long[] { c.HiddenSize, (long)c.NumAttentionHeads * c.HeadDim }, _ => true),
        new(TensorRole.QBias, "model.layers.{0}.self_attn.q_proj.bias", true, c => new long[] { (long)c.NumAttentionHeads * c.HeadDim }, c => c.HasQkvBias),
        new(TensorRole.KBias, "model.layers.{0}.self_attn.k_proj.bias", true, c => new long[] { (long)c.KeyValueHeads * c.HeadDim }, c => c.HasQkvBias),
        new(TensorRole.VBias, "model.layers.{0}.self_attn.v_proj.bias", true, c => new long[] { (long)c.KeyValueHeads * c.HeadDim }, c => c.HasQkvBias),
        new(TensorRole.OBias, "model.layers.{0}.self_attn.o_proj.bias", true, c => new long[] { c.HiddenSize }, c => c.HasOutputBias),
        new(TensorRole.FfnNorm, "model.layers.{0}.post_attention_layernorm.weight", true, c => new long[] { c.HiddenSize }, _ => true),
        new(TensorRole.Gate, "model.layers.{0}.mlp.gate_proj.weight", true, c => new long[] { c.IntermediateSize, c.HiddenSize }, _ => true),
        new(TensorRole.Up, "model.layers.{0}.mlp.up_proj.weight", true, c => new long[] { c.IntermediateSize, c.HiddenSize }, _ => true),
        new(TensorRole.Down, "model.layers.{0}.mlp.down_proj.weight", true, c => new long[] { c.HiddenSize, c.IntermediateSize }, _ => true),
        new(TensorRole.QNorm, "model.layers.{0}.self_attn.q_norm.weight", true, c => new long[] { c.HeadDim }, c => c.HasQkNorm),
        new(TensorRole.KNorm, "model.layers.{0}.self_attn.k_norm.weight", true, c => new long[] { c.HeadDim }, c => c.HasQkNorm),
        new(TensorRole.PostAttnNorm, "model.layers.{0}.post_attention_layernorm.weight", true, c => new long[] { c.HiddenSize }, c => c.HasPostNorms),
        new(TensorRole.PostFfnNorm, "model.layers.{0}.post_feedforward_layernorm.weight", true, c => new long[] { c.HiddenSize }, c => c.HasPostNorms),
    };

    /// <summary>
    /// Gemma's FFN input norm (role <see cref="TensorRole.FfnNorm"/>, the norm whose output is y2) is
    /// <c>pre_feedforward_layernorm</c>; its <c>post_attention_layernorm</c> is <see cref="TensorRole.PostAttnNorm"/>.
    /// </summary>
    private const string GemmaFfnNorm = "model.layers.{0}.pre_feedforward_layernorm.weight";

    private static string Template(Row row, ModelConfig? config) =>
        row.Role == TensorRole.FfnNorm && config is { HasPostNorms: true } ? GemmaFfnNorm : row.Template;

    /// <summary>
    /// The Hugging Face name of <paramref name="role"/> in <paramref name="config"/>'s family (differs from
    /// <see cref="Name(TensorRole, int)"/> only for Gemma's FFN norm).
    /// </summary>
    public static string Name(TensorRole role, int layer, ModelConfig? config)
    {
        var row = Rows[(int)role];
        string template = Template(row, config);
        return row.PerLayer ? string.Format(System.Globalization.CultureInfo.InvariantCulture, template, layer) : template;
    }

    /// <summary>The Hugging Face name of <paramref name="role"/> (layer ignored for model-level roles) in the Llama families.</summary>
    public static string Name(TensorRole role, int layer = 0) => Name(role, layer, null);

    /// <summary>Whether <paramref name="role"/> belongs to each decoder layer (true) or to the model (false).</summary>
    public static bool IsPerLayer(TensorRole role) => Rows[(int)role].PerLayer;

    /// <summary>The shape <paramref name="config"/> implies for <paramref name="role"/>.</summary>
    public static long[] ExpectedShape(TensorRole role, ModelConfig config) => Rows[(int)role].Shape(config);

    /// <summary>Whether <paramref name="config"/> makes <paramref name="role"/> present (biases, untied head).</summary>
    public static bool IsPresent(TensorRole role, ModelConfig config) => Rows[(int)role].Present(config);

    /// <summary>Every (role, layer, name, shape) the config requires, model-level first, then layer by layer.</summary>
    public static IEnumerable<(TensorRole Role, int Layer, string Name, long[] Shape)> Expected(ModelConfig config)
    {
        foreach (var row in Rows.Where(r => !r.PerLayer && r.Present(config)))
            yield return (row.Role, -1, Template(row, config), row.Shape(config));
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            foreach (var row in Rows.Where(r => r.PerLayer && r.Present(config)))
                yield return (row.Role, layer, Name(row.Role, layer, config), row.Shape(config));
        }
    }
}
