using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Optimizer.Engine.Model;

/// <summary>
/// The attention sub-block of a Llama decoder layer: pre-norm, q/k/v projections (optional bias), RoPE, grouped-query
/// causal attention, o_proj (optional bias) and the residual add; qwen3's per-head q_norm/k_norm (RMSNorm over each
/// head's dimensions, one γ shared by every head) between the projections and RoPE. Emits the <c>attn.*</c> probe sites. With an
/// <see cref="ActivationQuantization"/>, the inputs of q/k/v_proj (<c>attn.y2</c>) and o_proj (<c>attn.out</c>) are fake
/// quantized after the probes saw them.
/// </summary>
internal static class AttentionBlock
{
    /// <summary>Returns <c>y1 = x + o_proj(attention(norm(x)))</c> for the residual stream <paramref name="x"/> [B, T, C].</summary>
    public static Tensor Forward(Tensor x, LayerWeights w, ModelConfig config, RotaryEmbedding rope, in ProbeDispatch probes,
        ActivationQuantization? quantization)
    {
        long batch = x.shape[0], length = x.shape[1];
        int heads = config.NumAttentionHeads, kvHeads = config.KeyValueHeads, headDim = config.HeadDim;
        probes.Emit(ProbeSite.AttnY1, x);

        Tensor normalized = RmsNorm.Normalize(x, config.RmsNormEps);
        probes.Emit(ProbeSite.AttnNormIn, normalized);
        Tensor y2 = RmsNorm.Scale(normalized, w.AttnNorm);
        normalized.Dispose();
        probes.Emit(ProbeSite.AttnY2, y2);

        Tensor input = ActivationFakeQuantizer.Apply(y2, quantization, w.Layer, ProbeSite.AttnY2);
        Tensor q = F.linear(input, w.Q, w.QBias);
        Tensor k = F.linear(input, w.K, w.KBias);
        Tensor v = F.linear(input, w.V, w.VBias);
        if (!ReferenceEquals(input, y2)) input.Dispose();
        y2.Dispose();
        probes.Emit(ProbeSite.AttnQ, q);
        probes.Emit(ProbeSite.AttnK, k);
        if (w.QNorm is not null)
        {
            Tensor qn = HeadNorm(q, w.QNorm, batch, length, heads, headDim, config.RmsNormEps);
            Tensor kn = HeadNorm(k, w.KNorm!, batch, length, kvHeads, headDim, config.RmsNormEps);
            q.Dispose();
            k.Dispose();
            q = qn;
            k = kn;
            probes.Emit(ProbeSite.AttnQNorm, q);
            probes.Emit(ProbeSite.AttnKNorm, k);
        }
        probes.Emit(ProbeSite.AttnV, v);

        Tensor qh = rope.Apply(q.view(batch, length, heads, headDim).transpose(1, 2));
        Tensor kh = ExpandKv(rope.Apply(k.view(batch, length, kvHeads, headDim).transpose(1, 2)), heads / kvHeads);
        Tensor vh = ExpandKv(v.view(batch, length, kvHeads, headDim).transpose(1, 2), heads / kvHeads);
        q.Dispose();
        k.Dispose();

        Tensor attended;
        if (config.AttentionWindow is int window && window < length)
        {
            using Tensor mask = SlidingWindowMask(length, window, x.device);
            attended = F.scaled_dot_product_attention(qh, kh, vh, mask);
        }
        else
        {
            attended = F.scaled_dot_product_attention(qh, kh, vh, is_casual: true);
        }
        qh.Dispose();
        kh.Dispose();
        vh.Dispose();
        v.Dispose();
        Tensor merged = attended.transpose(1, 2).reshape(batch, length, (long)heads * headDim);
        attended.Dispose();
        probes.Emit(ProbeSite.AttnOut, merged);

        Tensor oInput = ActivationFakeQuantizer.Apply(merged, quantization, w.Layer, ProbeSite.AttnOut);
        Tensor o = F.linear(oInput, w.O, w.OBias);
        if (!ReferenceEquals(oInput, merged)) oInput.Dispose();
        merged.Dispose();
        probes.Emit(ProbeSite.AttnO, o);
        Tensor y1 = ExplicitScalars.Add(x, o);
        o.Dispose();
        return y1;
    }

    /// <summary>
    /// [T, T] boolean mask of phi3's sliding window: query t attends to key s when t − window &lt; s ≤ t
    /// (docs/model-families.md, "Phi-3").
    /// </summary>
    private static Tensor SlidingWindowMask(long length, int window, Device device)
    {
        var allowed = new bool[length * length];
        for (long t = 0; t < length; t++)
            for (long s = Math.Max(0, t - window + 1); s <= t; s++) allowed[t * length + s] = true;
        return TensorMoves.MoveTo(tensor(allowed, new[] { length, length }), device);
    }

    /// <summary>RMSNorm of each head of <paramref name="x"/> [B, T, heads·D] with the shared γ [D]; returns [B, T, heads·D].</summary>
    private static Tensor HeadNorm(Tensor x, Tensor gamma, long batch, long length, int heads, int headDim, double eps)
    {
        using Tensor perHead = x.view(batch, length, heads, headDim);
        using Tensor scaled = RmsNorm.Apply(perHead, gamma, eps);
        return scaled.reshape(batch, length, (long)heads * headDim);
    }

    /// <summary>[B, kv, T, D] → [B, kv·rep, T, D], key/value head <c>j</c> serving query heads <c>j·rep … j·rep+rep−1</c>.</summary>
    internal static Tensor ExpandKv(Tensor kv, int rep)
    {
        if (rep == 1) return kv;
        long b = kv.shape[0], n = kv.shape[1], t = kv.shape[2], d = kv.shape[3];
        Tensor expanded = kv.unsqueeze(2).expand(b, n, rep, t, d).reshape(b, n * rep, t, d);
        kv.Dispose();
        return expanded;
    }
}
