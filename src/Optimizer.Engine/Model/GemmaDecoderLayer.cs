using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Optimizer.Engine.Model;

/// <summary>
/// How a family stores RMSNorm weights: Gemma multiplies by <c>1 + γ</c> (a zero γ is the identity), the Llama
/// families by <c>γ</c> (docs/model-families.md, "Gemma 2 and Gemma 3 text").
/// </summary>
public static class NormScale
{
    /// <summary>The multiplier a stored norm weight stands for: <c>1 + γ</c> in float32 for Gemma, else <c>γ</c> itself.</summary>
    public static float[] Effective(ModelConfig config, float[] gamma)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(gamma);
        if (!config.IsGemma) return gamma;
        var scale = new float[gamma.Length];
        for (int i = 0; i < scale.Length; i++) scale[i] = 1f + gamma[i];
        return scale;
    }

    /// <summary>The stored weight whose effective multiplier is <paramref name="scale"/> (inverse of <see cref="Effective"/>).</summary>
    public static float[] Stored(ModelConfig config, float[] scale)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(scale);
        if (!config.IsGemma) return scale;
        var gamma = new float[scale.Length];
        for (int i = 0; i < gamma.Length; i++) gamma[i] = scale[i] - 1f;
        return gamma;
    }

    /// <summary>In a loaded layer: replaces a Gemma norm weight by <c>1 + γ</c> (float32, as Hugging Face computes it).</summary>
    internal static Tensor ToMultiplier(ModelConfig config, Tensor gamma)
    {
        if (!config.IsGemma) return gamma;
        Tensor scale = ExplicitScalars.Add(gamma, 1.0).DetachFromDisposeScope();
        gamma.Dispose();
        return scale;
    }
}

/// <summary>
/// Per-forward tables of a Gemma model: the RoPE tables of each distinct (base, linear factor) and the additive causal
/// masks (full and sliding-window), for one sequence length.
/// </summary>
internal sealed class GemmaForwardTables : IDisposable
{
    private readonly Dictionary<(double Base, double Factor), RotaryEmbedding> _rope = new();
    private readonly Tensor _fullMask;
    private readonly Tensor _slidingMask;

    public GemmaForwardTables(ModelConfig config, int length, Device device)
    {
        Config = config;
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            var key = (config.RopeBase(layer), config.RopeFactor(layer));
            if (!_rope.ContainsKey(key)) _rope[key] = new RotaryEmbedding(InverseFrequencies(config.HeadDim, key.Item1, key.Item2), config.HeadDim, length, device);
        }
        _fullMask = Mask(length, int.MaxValue, device);
        _slidingMask = Mask(length, config.SlidingWindow ?? int.MaxValue, device);
    }

    public ModelConfig Config { get; }

    /// <summary>The RoPE of <paramref name="layer"/> (its base and linear factor).</summary>
    public RotaryEmbedding Rope(int layer) => _rope[(Config.RopeBase(layer), Config.RopeFactor(layer))];

    /// <summary>The boolean mask [T, T] of positions a query may NOT attend to in <paramref name="layer"/>.</summary>
    public Tensor Masked(int layer) => Config.IsSlidingLayer(layer) ? _slidingMask : _fullMask;

    /// <summary>
    /// Query t attends to key s when s ≤ t and, in a sliding layer, t − s &lt; window (Hugging Face's sliding mask and
    /// llama.cpp's standard SWA agree on this).
    /// </summary>
    private static Tensor Mask(int length, int window, Device device)
    {
        var masked = new bool[(long)length * length];
        for (int t = 0; t < length; t++)
            for (int s = 0; s < length; s++)
                masked[(long)t * length + s] = s > t || t - s >= window;
        return TensorMoves.MoveTo(tensor(masked, new long[] { length, length }), device).DetachFromDisposeScope();
    }

    /// <summary>θ^(−2i/d) / factor for each pair i &lt; d/2, in float64.</summary>
    private static double[] InverseFrequencies(int headDim, double theta, double factor)
    {
        var inverse = new double[headDim / 2];
        for (int i = 0; i < inverse.Length; i++) inverse[i] = Math.Pow(theta, -2.0 * i / headDim) / factor;
        return inverse;
    }

    public void Dispose()
    {
        foreach (var rope in _rope.Values) rope.Dispose();
        _rope.Clear();
        _fullMask.Dispose();
        _slidingMask.Dispose();
    }
}

/// <summary>
/// One Gemma 2 / Gemma 3 decoder layer as Hugging Face runs it (docs/model-families.md, "Gemma 2 and Gemma 3 text"): embedding already scaled by
/// √hidden; <c>h = x + post_attention_norm(attn(input_norm(x)))</c>, <c>out = h + post_ffw_norm(mlp(pre_ffw_norm(h)))</c>
/// with every norm multiplying by <c>1 + γ</c> (the loaded <see cref="LayerWeights"/> already hold that multiplier);
/// Gemma 3's per-head q/k norms before RoPE; scores scaled by <c>query_pre_attn_scalar^-0.5</c>, soft-capped
/// (<c>tanh(s / cap) · cap</c>) when configured, causally masked (sliding-window on the sliding layers), softmax in
/// float32; a GELU-tanh gated FFN. Probe sites keep their Llama meaning (y2 = FFN input norm output, y6 = down input,
/// y7 = down output); <see cref="ProbeSite.AttnPostNorm"/> and <see cref="ProbeSite.PostNorm"/> add the post norms' outputs.
/// </summary>
internal static class GemmaDecoderLayer
{
    /// <summary>The embedding rows times √hidden rounded to float32 (Hugging Face's normalizer).</summary>
    public static Tensor ScaleEmbedding(Tensor embedded, ModelConfig config)
    {
        using Scalar normalizer = ((float)Math.Sqrt(config.HiddenSize)).ToScalar();
        return embedded.mul(normalizer);
    }

    /// <summary>Logit soft-capping <c>tanh(z / cap) · cap</c>, or <paramref name="logits"/> itself without a cap.</summary>
    public static Tensor SoftCap(Tensor logits, double? cap)
    {
        if (cap is not double c) return logits;
        using Scalar scalar = c.ToScalar();
        using Tensor divided = logits.div(scalar);
        using Tensor squashed = divided.tanh();
        return squashed.mul(scalar);
    }

    /// <summary>Returns the layer output for the residual stream <paramref name="x"/> [B, T, C].</summary>
    public static Tensor Forward(Tensor x, LayerWeights w, GemmaForwardTables tables, in ProbeDispatch probes, ActivationQuantization? quantization)
    {
        using Tensor y1 = Attention(x, w, tables, probes, quantization);
        return FeedForwardBlock.Forward(y1, w, tables.Config, probes, quantization);
    }

    private static Tensor Attention(Tensor x, LayerWeights w, GemmaForwardTables tables, in ProbeDispatch probes, ActivationQuantization? quantization)
    {
        var config = tables.Config;
        long batch = x.shape[0], length = x.shape[1];
        int heads = config.NumAttentionHeads, kvHeads = config.KeyValueHeads, headDim = config.HeadDim;
        probes.Emit(ProbeSite.AttnY1, x);
        Tensor normalized = RmsNorm.Normalize(x, config.RmsNormEps);
        probes.Emit(ProbeSite.AttnNormIn, normalized);
        Tensor y2 = RmsNorm.Scale(normalized, w.AttnNorm);
        normalized.Dispose();
        probes.Emit(ProbeSite.AttnY2, y2);

        Tensor input = ActivationFakeQuantizer.Apply(y2, quantization, w.Layer, ProbeSite.AttnY2);
        Tensor q = F.linear(input, w.Q);
        Tensor k = F.linear(input, w.K);
        Tensor v = F.linear(input, w.V);
        if (!ReferenceEquals(input, y2)) input.Dispose();
        y2.Dispose();
        probes.Emit(ProbeSite.AttnQ, q);
        probes.Emit(ProbeSite.AttnK, k);
        probes.Emit(ProbeSite.AttnV, v);

        var rope = tables.Rope(w.Layer);
        Tensor qn = HeadNorm(q.view(batch, length, heads, headDim), w.QNorm, config);
        Tensor kn = HeadNorm(k.view(batch, length, kvHeads, headDim), w.KNorm, config);
        if (w.QNorm is not null)
        {
            probes.Emit(ProbeSite.AttnQNorm, qn);
            probes.Emit(ProbeSite.AttnKNorm, kn);
        }
        Tensor qh = rope.Apply(qn.transpose(1, 2));
        Tensor kh = AttentionBlock.ExpandKv(rope.Apply(kn.transpose(1, 2)), heads / kvHeads);
        Tensor vh = AttentionBlock.ExpandKv(v.view(batch, length, kvHeads, headDim).transpose(1, 2), heads / kvHeads);
        q.Dispose();
        k.Dispose();

        Tensor scores;
        using (Tensor kt = kh.transpose(2, 3))
        using (Tensor raw = qh.matmul(kt))
        using (Scalar scale = config.AttentionScale.ToScalar())
        using (Tensor scaled = raw.mul(scale))
        using (Tensor capped = SoftCap(scaled, config.AttnLogitSoftcapping))
        using (Scalar negativeInfinity = float.NegativeInfinity.ToScalar())
        {
            scores = capped.masked_fill(tables.Masked(w.Layer), negativeInfinity);
        }
        qh.Dispose();
        kh.Dispose();
        Tensor probabilities = scores.softmax(-1, ScalarType.Float32);
        scores.Dispose();
        Tensor attended = probabilities.matmul(vh);
        probabilities.Dispose();
        vh.Dispose();
        v.Dispose();
        Tensor merged = attended.transpose(1, 2).reshape(batch, length, (long)heads * headDim);
        attended.Dispose();
        probes.Emit(ProbeSite.AttnOut, merged);

        Tensor oInput = ActivationFakeQuantizer.Apply(merged, quantization, w.Layer, ProbeSite.AttnOut);
        Tensor o = F.linear(oInput, w.O);
        if (!ReferenceEquals(oInput, merged)) oInput.Dispose();
        merged.Dispose();
        probes.Emit(ProbeSite.AttnO, o);
        Tensor post = RmsNorm.Apply(o, w.PostAttnNorm!, config.RmsNormEps);
        o.Dispose();
        probes.Emit(ProbeSite.AttnPostNorm, post);
        Tensor y1 = ExplicitScalars.Add(x, post);
        post.Dispose();
        return y1;
    }

    /// <summary>Gemma 3's per-head RMSNorm over head_dim of [B, T, heads, D]; the input itself without q/k norms.</summary>
    private static Tensor HeadNorm(Tensor x, Tensor? scale, ModelConfig config)
        => scale is null ? x : RmsNorm.Apply(x, scale, config.RmsNormEps);
}
