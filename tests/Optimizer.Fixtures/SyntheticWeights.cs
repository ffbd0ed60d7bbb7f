namespace Optimizer.Fixtures;

/// <summary>
/// The weights of a synthetic model in float64 while it is built, row-major in Hugging Face layout ([out, in] for
/// linears). After <see cref="WeightPrecision.RoundAll"/> every value is exactly representable in the storage type.
/// </summary>
internal sealed class SyntheticWeights
{
    public SyntheticWeights(SyntheticModelOptions options)
    {
        Options = options;
        int d = options.HiddenSize;
        Embedding = new double[SyntheticModelOptions.VocabSize * d];
        FinalNorm = new double[d];
        LmHead = options.TieWordEmbeddings ? null : new double[SyntheticModelOptions.VocabSize * d];
        Layers = new SyntheticLayerWeights[options.Layers];
        for (int i = 0; i < Layers.Length; i++) Layers[i] = new SyntheticLayerWeights(options);
    }

    public SyntheticModelOptions Options { get; }

    /// <summary>model.embed_tokens.weight [vocab, hidden].</summary>
    public double[] Embedding { get; }

    /// <summary>model.norm.weight [hidden].</summary>
    public double[] FinalNorm { get; }

    /// <summary>lm_head.weight [vocab, hidden], or null when tied to the embedding.</summary>
    public double[]? LmHead { get; }

    public SyntheticLayerWeights[] Layers { get; }

    /// <summary>Every tensor with its Hugging Face name and shape, in a fixed order (phi3: q/k/v and gate/up fused).</summary>
    public IEnumerable<(string Name, double[] Data, long[] Shape)> Tensors()
    {
        var o = Options;
        long v = SyntheticModelOptions.VocabSize, d = o.HiddenSize, q = (long)o.Heads * o.HeadDim;
        long kv = (long)o.KeyValueHeads * o.HeadDim, f = o.IntermediateSize;
        yield return ("model.embed_tokens.weight", Embedding, new[] { v, d });
        yield return ("model.norm.weight", FinalNorm, new[] { d });
        if (LmHead is not null) yield return ("lm_head.weight", LmHead, new[] { v, d });
        for (int i = 0; i < Layers.Length; i++)
        {
            var l = Layers[i];
            string p = $"model.layers.{i}.";
            yield return (p + "input_layernorm.weight", l.AttnNorm, new[] { d });
            if (o.Architecture == SyntheticArchitecture.Phi3)
            {
                yield return (p + "self_attn.qkv_proj.weight", l.Q.Concat(l.K).Concat(l.V).ToArray(), new[] { q + 2 * kv, d });
            }
            else
            {
                yield return (p + "self_attn.q_proj.weight", l.Q, new[] { q, d });
                yield return (p + "self_attn.k_proj.weight", l.K, new[] { kv, d });
                yield return (p + "self_attn.v_proj.weight", l.V, new[] { kv, d });
            }
            if (l.QBias is not null) yield return (p + "self_attn.q_proj.bias", l.QBias, new[] { q });
            if (l.KBias is not null) yield return (p + "self_attn.k_proj.bias", l.KBias, new[] { kv });
            if (l.VBias is not null) yield return (p + "self_attn.v_proj.bias", l.VBias, new[] { kv });
            yield return (p + "self_attn.o_proj.weight", l.O, new[] { d, q });
            if (l.QNorm is not null) yield return (p + "self_attn.q_norm.weight", l.QNorm, new[] { (long)o.HeadDim });
            if (l.KNorm is not null) yield return (p + "self_attn.k_norm.weight", l.KNorm, new[] { (long)o.HeadDim });
            yield return (p + "post_attention_layernorm.weight", l.FfnNorm, new[] { d });
            if (o.Architecture == SyntheticArchitecture.Phi3)
            {
                yield return (p + "mlp.gate_up_proj.weight", l.Gate.Concat(l.Up).ToArray(), new[] { 2 * f, d });
            }
            else
            {
                yield return (p + "mlp.gate_proj.weight", l.Gate, new[] { f, d });
                yield return (p + "mlp.up_proj.weight", l.Up, new[] { f, d });
            }
            yield return (p + "mlp.down_proj.weight", l.Down, new[] { d, f });
        }
    }
}
