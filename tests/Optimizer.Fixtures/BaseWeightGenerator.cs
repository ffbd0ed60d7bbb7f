namespace Optimizer.Fixtures;

/// <summary>
/// Draws the random base model: weights scaled so that, with nothing planted, every activation is O(1) at every
/// operator position and no channel stands out. Token embeddings ~ N(0, 1) (residual entries of order 1); q/v,
/// gate/up and lm_head ~ N(0, 1/fan_in) (outputs of order 1); k ~ N(0, 16/fan_in) (see <see cref="KeyScale"/>);
/// o_proj and down_proj ~ N(0, 0.25/fan_in), so each
/// sub-block adds about half a unit to the residual and the stream grows slowly with depth; norm weights γ = 1 + N(0,
/// 0.02²) (qwen3's q_norm/k_norm 1 + N(0, 0.25²)); qwen2 q/k/v biases ~ N(0, 0.1²). Every tensor has its own random stream, so plants never shift base draws.
/// </summary>
internal static class BaseWeightGenerator
{
    /// <summary>Standard deviation of the per-channel noise on norm weights around 1.</summary>
    public const double NormNoise = 0.02;

    /// <summary>Relative scale of the residual-writing projections (o_proj, down_proj).</summary>
    public const double OutputProjectionScale = 0.5;

    /// <summary>
    /// Scale of k_proj relative to 1/√fan_in. Attention logits then have a standard deviation of about 4, so attention
    /// is selective rather than a near-uniform running mean; a running mean would give every token almost the same
    /// attention output, and channels where that common vector happens to be large would look like channel-wise outliers.
    /// </summary>
    public const double KeyScale = 4.0;

    /// <summary>Spread of qwen3's per-head q_norm/k_norm γ around 1 (trained ones spread much more than the block norms).</summary>
    public const double QkNormNoise = 0.25;

    /// <summary>Standard deviation of qwen2 q/k/v biases.</summary>
    public const double BiasStd = 0.1;

    public static SyntheticWeights Generate(SyntheticModelOptions options)
    {
        var w = new SyntheticWeights(options);
        int d = options.HiddenSize, q = options.Heads * options.HeadDim, f = options.IntermediateSize;
        double inD = 1.0 / Math.Sqrt(d);
        Fill(options.Seed, 1, 0, w.Embedding, 1.0);
        FillNorm(options.Seed, 2, 0, w.FinalNorm);
        if (w.LmHead is not null) Fill(options.Seed, 3, 0, w.LmHead, inD);
        for (int i = 0; i < w.Layers.Length; i++)
        {
            var l = w.Layers[i];
            int layer = i + 1;
            FillNorm(options.Seed, 10, layer, l.AttnNorm);
            Fill(options.Seed, 11, layer, l.Q, inD);
            Fill(options.Seed, 12, layer, l.K, KeyScale * inD);
            Fill(options.Seed, 13, layer, l.V, inD);
            Fill(options.Seed, 14, layer, l.O, OutputProjectionScale / Math.Sqrt(q));
            if (l.QBias is not null) Fill(options.Seed, 15, layer, l.QBias, BiasStd);
            if (l.KBias is not null) Fill(options.Seed, 16, layer, l.KBias, BiasStd);
            if (l.VBias is not null) Fill(options.Seed, 17, layer, l.VBias, BiasStd);
            if (l.QNorm is not null) FillNorm(options.Seed, 18, layer, l.QNorm, QkNormNoise);
            if (l.KNorm is not null) FillNorm(options.Seed, 19, layer, l.KNorm, QkNormNoise);
            FillNorm(options.Seed, 20, layer, l.FfnNorm);
            Fill(options.Seed, 21, layer, l.Gate, inD);
            Fill(options.Seed, 22, layer, l.Up, inD);
            Fill(options.Seed, 23, layer, l.Down, OutputProjectionScale / Math.Sqrt(f));
        }
        return w;
    }

    /// <summary>The random stream of tensor <paramref name="role"/> in layer <paramref name="layer"/> (0 = model level).</summary>
    public static DeterministicRandom Stream(ulong seed, int role, int layer) =>
        DeterministicRandom.ForStream(seed, ((ulong)(uint)layer << 16) | (uint)role);

    private static void Fill(ulong seed, int role, int layer, double[] target, double std) =>
        Stream(seed, role, layer).FillNormal(target, std);

    private static void FillNorm(ulong seed, int role, int layer, double[] target, double noise = NormNoise)
    {
        var rng = Stream(seed, role, layer);
        for (int i = 0; i < target.Length; i++) target[i] = 1.0 + noise * rng.NextNormal();
    }
}
