using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Reference;

/// <summary>
/// An independent float64 Gemma 2 / Gemma 3 text decoder in plain C#, written from Hugging Face's equations (not from
/// the TorchSharp code), used only to check the engine. Norm(x, γ) = x / √(mean(x²)+ε) ⊙ (1 + γ). Per token t:
///   h = √C · E[x_t];  per layer ℓ: a = Norm(h, γ_in);  q = W_q a, k = W_k a, v = W_v a;
///   Gemma 3: q, k ← per-head Norm(·, γ_q / γ_k);  RoPE (rotate-half) with base θ_ℓ and angle p·θ_ℓ^(−2i/d)/factor_ℓ;
///   s = (q·k)·query_pre_attn_scalar^(−1/2), soft-capped cap·tanh(s/cap) if configured, over keys s' ≤ t and, in sliding
///   layers, t − s' &lt; window; softmax; o = W_o attn;  h ← h + Norm(o, γ_post_attn);
///   f = Norm(h, γ_pre_ffw);  h ← h + Norm(W_d (gelu_tanh(W_g f) ⊙ W_u f), γ_post_ffw);
///   logits = cap·tanh(E Norm(h, γ_final) / cap) (final cap if configured).
/// <paramref name="windowOverride"/> replaces the sliding window (to show that the mask matters).
/// </summary>
internal sealed class GemmaReferenceDecoder(ModelConfig config, ITensorSource source, int? windowOverride = null)
{
    private readonly ModelConfig _c = config;

    /// <summary>Logits [T][V] of one sequence.</summary>
    public double[][] Logits(int[] tokens)
    {
        int T = tokens.Length, C = _c.HiddenSize, H = _c.NumAttentionHeads, KV = _c.KeyValueHeads, D = _c.HeadDim;
        bool gemma3 = _c.ModelType == "gemma3_text";
        double[] embed = Read("model.embed_tokens.weight");
        double normalizer = (float)Math.Sqrt(C);
        var h = new double[T][];
        for (int t = 0; t < T; t++) h[t] = embed.AsSpan(tokens[t] * C, C).ToArray().Select(e => e * normalizer).ToArray();

        for (int l = 0; l < _c.NumHiddenLayers; l++)
        {
            string p = $"model.layers.{l}.";
            bool sliding = _c.LayerTypes is { } types ? types[l] == "sliding_attention"
                : gemma3 ? (l + 1) % (_c.SlidingWindowPattern ?? 6) != 0 : l % 2 == 0;
            double theta = gemma3 && sliding ? _c.RopeLocalBaseFreq ?? 10000 : _c.RopeTheta;
            double factor = gemma3 && !sliding ? _c.RopeLinearFactor : 1;
            int window = sliding ? windowOverride ?? _c.SlidingWindow!.Value : int.MaxValue;
            double[] gIn = Read(p + "input_layernorm.weight"), gPostAttn = Read(p + "post_attention_layernorm.weight");
            double[] gPre = Read(p + "pre_feedforward_layernorm.weight"), gPostFfn = Read(p + "post_feedforward_layernorm.weight");
            double[] wq = Read(p + "self_attn.q_proj.weight"), wk = Read(p + "self_attn.k_proj.weight");
            double[] wv = Read(p + "self_attn.v_proj.weight"), wo = Read(p + "self_attn.o_proj.weight");
            double[]? gq = gemma3 ? Read(p + "self_attn.q_norm.weight") : null, gk = gemma3 ? Read(p + "self_attn.k_norm.weight") : null;
            double[] wg = Read(p + "mlp.gate_proj.weight"), wu = Read(p + "mlp.up_proj.weight"), wd = Read(p + "mlp.down_proj.weight");

            var q = new double[T][]; var k = new double[T][]; var v = new double[T][];
            for (int t = 0; t < T; t++)
            {
                double[] a = Norm(h[t], gIn);
                q[t] = Rope(HeadNorm(MatVec(wq, a, H * D), H, D, gq), t, H, D, theta, factor);
                k[t] = Rope(HeadNorm(MatVec(wk, a, KV * D), KV, D, gk), t, KV, D, theta, factor);
                v[t] = MatVec(wv, a, KV * D);
            }
            double scale = Math.Pow(_c.QueryPreAttnScalar!.Value, -0.5);
            var next = new double[T][];
            for (int t = 0; t < T; t++)
            {
                var attn = new double[H * D];
                for (int n = 0; n < H; n++)
                {
                    int kvHead = n / (H / KV);
                    int first = Math.Max(0, t - window + 1);
                    var scores = new double[t + 1 - first];
                    double max = double.NegativeInfinity;
                    for (int s = first; s <= t; s++)
                    {
                        double dot = 0;
                        for (int i = 0; i < D; i++) dot += q[t][n * D + i] * k[s][kvHead * D + i];
                        double score = dot * scale;
                        if (_c.AttnLogitSoftcapping is double cap) score = cap * Math.Tanh(score / cap);
                        scores[s - first] = score;
                        max = Math.Max(max, score);
                    }
                    double z = 0;
                    for (int s = 0; s < scores.Length; s++) { scores[s] = Math.Exp(scores[s] - max); z += scores[s]; }
                    for (int s = first; s <= t; s++)
                        for (int i = 0; i < D; i++) attn[n * D + i] += scores[s - first] / z * v[s][kvHead * D + i];
                }
                double[] o = Norm(MatVec(wo, attn, C), gPostAttn);
                var mid = new double[C];
                for (int j = 0; j < C; j++) mid[j] = h[t][j] + o[j];
                double[] f = Norm(mid, gPre);
                double[] gate = MatVec(wg, f, _c.IntermediateSize), up = MatVec(wu, f, _c.IntermediateSize);
                var m = new double[gate.Length];
                for (int j = 0; j < m.Length; j++) m[j] = GeluTanh(gate[j]) * up[j];
                double[] down = Norm(MatVec(wd, m, C), gPostFfn);
                next[t] = new double[C];
                for (int j = 0; j < C; j++) next[t][j] = mid[j] + down[j];
            }
            h = next;
        }
        double[] gf = Read("model.norm.weight");
        return h.Select(row =>
        {
            double[] logits = MatVec(embed, Norm(row, gf), _c.VocabSize);
            if (_c.FinalLogitSoftcapping is double cap) for (int i = 0; i < logits.Length; i++) logits[i] = cap * Math.Tanh(logits[i] / cap);
            return logits;
        }).ToArray();
    }

    private static double GeluTanh(double x) => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

    private double[] Norm(double[] x, double[] gamma)
    {
        double ms = x.Sum(e => e * e) / x.Length;
        double inv = 1 / Math.Sqrt(ms + _c.RmsNormEps);
        return x.Select((e, j) => e * inv * (1 + gamma[j])).ToArray();
    }

    private double[] HeadNorm(double[] x, int heads, int d, double[]? gamma)
    {
        if (gamma is null) return x;
        var r = new double[x.Length];
        for (int n = 0; n < heads; n++) Norm(x.AsSpan(n * d, d).ToArray(), gamma).CopyTo(r, n * d);
        return r;
    }

    private static double[] Rope(double[] x, int t, int heads, int d, double theta, double factor)
    {
        var r = (double[])x.Clone();
        for (int n = 0; n < heads; n++)
        {
            for (int i = 0; i < d / 2; i++)
            {
                double phi = t * Math.Pow(theta, -2.0 * i / d) / factor;
                double a = x[n * d + i], b = x[n * d + i + d / 2];
                r[n * d + i] = a * Math.Cos(phi) - b * Math.Sin(phi);
                r[n * d + i + d / 2] = b * Math.Cos(phi) + a * Math.Sin(phi);
            }
        }
        return r;
    }

    /// <summary>y = W x with W stored row-major [rows, x.Length].</summary>
    private static double[] MatVec(double[] w, double[] x, int rows)
    {
        var y = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double s = 0;
            for (int c = 0; c < x.Length; c++) s += w[r * x.Length + c] * x[c];
            y[r] = s;
        }
        return y;
    }

    private double[] Read(string name)
    {
        TensorInfo info = source.Find(name) ?? throw new InvalidOperationException($"{name} missing");
        float[] values = TensorData.ReadFloat32(source, info);
        return values.Select(v => (double)v).ToArray();
    }
}
