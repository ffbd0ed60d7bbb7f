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
    private readonly Dictionary<(double Base, double Factor), (Tensor Cos, Tensor Sin)> _rope = new();
    private readonly Tensor _fullMask;
    private readonly Tensor _slidingMask;

    public GemmaForwardTables(ModelConfig config, int length, Device device)
    {
        Config = config;
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            var key = (config.RopeBase(layer), config.RopeFactor(layer));
            if (!_rope.ContainsKey(key)) _rope[key] = RopeTables(config.HeadDim, key.Item1, key.Item2, length, device);
        }
        _fullMask = Mask(length, int.MaxValue, device);
        _slidingMask = Mask(length, config.SlidingWindow ?? int.MaxValue, device);
    }

    public ModelConfig Config { get; }

    /// <summary>cos/sin tables [1, 1, T, head_dim] of <paramref name="layer"/>.</summary>
    public (Tensor Cos, Tensor Sin) Rope(int layer) => _rope[(Config.RopeBase(layer), Config.RopeFactor(layer))];

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

    /// <summary>Rotate-half tables: angle p · θ^(−2i/d) / factor, computed in float64 and rounded once.</summary>
    private static (Tensor, Tensor) RopeTables(int headDim, double theta, double factor, int length, Device device)
    {
        int half = headDim / 2;
        var cos = new float[length * headDim];
        var sin = new float[length * headDim];
        for (int p = 0; p < length; p++)
        {
            for (int i = 0; i < half; i++)
            {
                double angle = p * (Math.Pow(theta, -2.0 * i / headDim) / factor);
                float c = (float)Math.Cos(angle), s = (float)Math.Sin(angle);
                cos[p * headDim + i] = c;
                cos[p * headDim + i + half] = c;
                sin[p * headDim + i] = s;
                sin[p * headDim + i + half] = s;
            }
        }
        var shape = new long[] { 1, 1, length, headDim };
        return (TensorMoves.MoveTo(tensor(cos, shape), device).DetachFromDisposeScope(),
            TensorMoves.MoveTo(tensor(sin, shape), device).DetachFromDisposeScope());
    }

    public void Dispose()
    {
        foreach (var (c, s) in _rope.Values)
        {
            c.Dispose();
            s.Dispose();
        }
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
        return FeedForward(y1, w, tables.Config, probes, quantization);
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

        var (cos, sin) = tables.Rope(w.Layer);
        Tensor qn = HeadNorm(q.view(batch, length, heads, headDim), w.QNorm, config);
        Tensor kn = HeadNorm(k.view(batch, length, kvHeads, headDim), w.KNorm, config);
        if (w.QNorm is not null)
        {
            probes.Emit(ProbeSite.AttnQNorm, qn);
            probes.Emit(ProbeSite.AttnKNorm, kn);
        }
        Tensor qh = Rope(qn.transpose(1, 2), cos, sin);
        Tensor kh = ExpandKv(Rope(kn.transpose(1, 2), cos, sin), heads / kvHeads);
        Tensor vh = ExpandKv(v.view(batch, length, kvHeads, headDim).transpose(1, 2), heads / kvHeads);
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
        Tensor post = PostNorm(o, w.PostAttnNorm!, config);
        o.Dispose();
        probes.Emit(ProbeSite.AttnPostNorm, post);
        Tensor y1 = ExplicitScalars.Add(x, post);
        post.Dispose();
        return y1;
    }

    private static Tensor FeedForward(Tensor y1, LayerWeights w, ModelConfig config, in ProbeDispatch probes, ActivationQuantization? quantization)
    {
        probes.Emit(ProbeSite.Y1, y1);
        Tensor normalized = RmsNorm.Normalize(y1, config.RmsNormEps);
        probes.Emit(ProbeSite.NormIn, normalized);
        Tensor y2 = RmsNorm.Scale(normalized, w.FfnNorm);
        normalized.Dispose();
        probes.Emit(ProbeSite.Y2, y2);

        Tensor input = ActivationFakeQuantizer.Apply(y2, quantization, w.Layer, ProbeSite.Y2);
        Tensor y3 = F.linear(input, w.Gate);
        probes.Emit(ProbeSite.Y3, y3);
        Tensor y4 = F.linear(input, w.Up);
        if (!ReferenceEquals(input, y2)) input.Dispose();
        y2.Dispose();
        probes.Emit(ProbeSite.Y4, y4);
        Tensor y5 = F.gelu(y3, TorchSharp.Modules.GELU.Approximate.tanh);
        y3.Dispose();
        probes.Emit(ProbeSite.Y5, y5);
        Tensor y6 = y5 * y4;
        y5.Dispose();
        y4.Dispose();
        probes.Emit(ProbeSite.Y6, y6);

        Tensor downInput = ActivationFakeQuantizer.Apply(y6, quantization, w.Layer, ProbeSite.Y6);
        Tensor y7 = F.linear(downInput, w.Down);
        if (!ReferenceEquals(downInput, y6)) downInput.Dispose();
        y6.Dispose();
        probes.Emit(ProbeSite.Y7, y7);
        Tensor post = PostNorm(y7, w.PostFfnNorm!, config);
        y7.Dispose();
        probes.Emit(ProbeSite.PostNorm, post);
        Tensor y8 = ExplicitScalars.Add(y1, post);
        post.Dispose();
        probes.Emit(ProbeSite.Y8, y8);
        return y8;
    }

    private static Tensor PostNorm(Tensor x, Tensor scale, ModelConfig config)
    {
        using Tensor normalized = RmsNorm.Normalize(x, config.RmsNormEps);
        return RmsNorm.Scale(normalized, scale);
    }

    /// <summary>Gemma 3's per-head RMSNorm over head_dim of [B, T, heads, D]; the input itself without q/k norms.</summary>
    private static Tensor HeadNorm(Tensor x, Tensor? scale, ModelConfig config)
    {
        if (scale is null) return x;
        using Tensor normalized = RmsNorm.Normalize(x, config.RmsNormEps);
        return RmsNorm.Scale(normalized, scale);
    }

    /// <summary>Rotate-half RoPE of [B, heads, T, D] with the layer's tables.</summary>
    private static Tensor Rope(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        using Tensor first = x.narrow(-1, 0, half);
        using Tensor second = x.narrow(-1, half, half);
        using Tensor negSecond = second.neg();
        using Tensor rotated = cat(new[] { negSecond, first }, -1);
        using Tensor a = x * cos;
        using Tensor b = rotated * sin;
        return ExplicitScalars.Add(a, b);
    }

    /// <summary>[B, kv, T, D] → [B, kv·rep, T, D], key/value head <c>j</c> serving query heads <c>j·rep … j·rep+rep−1</c>.</summary>
    private static Tensor ExpandKv(Tensor kv, int rep)
    {
        if (rep == 1) return kv;
        long b = kv.shape[0], n = kv.shape[1], t = kv.shape[2], d = kv.shape[3];
        Tensor expanded = kv.unsqueeze(2).expand(b, n, rep, t, d).reshape(b, n * rep, t, d);
        kv.Dispose();
        return expanded;
    }
}
