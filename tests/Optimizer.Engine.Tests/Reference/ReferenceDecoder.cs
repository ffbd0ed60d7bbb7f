using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Reference;

/// <summary>
/// An independent float64 Llama decoder in plain C#, written from the equations (not from the TorchSharp code), used
/// only to check the engine. Per token t of one sequence:
///   h = E[x_t];  per layer: a = γ₁ ⊙ h / √(mean(h²)+ε);  q = W_q a + b_q, k = W_k a + b_k, v = W_v a + b_v;
///   qwen3: each head of q and k ← γ_qn ⊙ head / √(mean(head²)+ε) (γ_kn for k);
///   RoPE: for i &lt; d/2, φ = t·ω_i with ω_i = θ^(−2i/d) (linear scaling: ω_i / factor; llama3: with λ = 2π/ω_i,
///   ω_i / factor when λ &gt; L/low, ω_i when λ &lt; L/high, else (1−s)·ω_i/factor + s·ω_i with s = (L/λ − low)/(high − low)),
///   (q_i, q_{i+d/2}) ← (q_i cos φ − q_{i+d/2} sin φ, q_{i+d/2} cos φ + q_i sin φ);
///   head n attends to kv head n / (H/KV) over positions s ≤ t with softmax(q·k/√d);  h ← h + W_o o (+ b_o);
///   phi3: q, k, v are the row blocks [0, H·D), [H·D, (H+KV)·D), [(H+KV)·D, (H+2KV)·D) of qkv_proj, gate and up the
///   halves of gate_up_proj; only the first R = ⌊d·partial_rotary_factor⌋ dimensions of a head rotate (pairs (i, i+R/2),
///   ω_i = θ^(−2i/R)), the rest pass through; longrope: ω_i / short_factor[i] (long_factor[i] when T exceeds the original
///   context), the rotated pair multiplied by m = √(1 + ln(max_pos/original)/ln(original)) (1 when max_pos ≤ original);
///   sliding window W: position t attends to s with t − W &lt; s ≤ t.
///   f = γ₂ ⊙ h / √(mean(h²)+ε);  h ← h + W_d (silu(W_g f) ⊙ W_u f);  logits = W_head (γ_f ⊙ h / √(mean(h²)+ε)).
/// </summary>
internal sealed class ReferenceDecoder
{
    private readonly ModelConfig _c;
    private readonly ITensorSource _source;

    public ReferenceDecoder(ModelConfig config, ITensorSource source)
    {
        _c = config;
        _source = source;
    }

    /// <summary>Logits [T][V] of one sequence.</summary>
    public double[][] Logits(int[] tokens)
    {
        int T = tokens.Length, C = _c.HiddenSize, H = _c.NumAttentionHeads, KV = _c.KeyValueHeads, D = _c.HeadDim;
        double[] embed = Read("model.embed_tokens.weight");
        var h = new double[T][];
        for (int t = 0; t < T; t++) h[t] = embed.AsSpan(tokens[t] * C, C).ToArray();

        for (int l = 0; l < _c.NumHiddenLayers; l++)
        {
            string p = $"model.layers.{l}.";
            double[] g1 = Read(p + "input_layernorm.weight"), g2 = Read(p + "post_attention_layernorm.weight");
            double[] wq, wk, wv, wg, wu;
            if (TryRead(p + "self_attn.qkv_proj.weight") is { } qkv)
            {
                wq = qkv[..(H * D * C)];
                wk = qkv[(H * D * C)..((H + KV) * D * C)];
                wv = qkv[((H + KV) * D * C)..];
            }
            else
            {
                wq = Read(p + "self_attn.q_proj.weight");
                wk = Read(p + "self_attn.k_proj.weight");
                wv = Read(p + "self_attn.v_proj.weight");
            }
            if (TryRead(p + "mlp.gate_up_proj.weight") is { } gateUp)
            {
                wg = gateUp[..(gateUp.Length / 2)];
                wu = gateUp[(gateUp.Length / 2)..];
            }
            else
            {
                wg = Read(p + "mlp.gate_proj.weight");
                wu = Read(p + "mlp.up_proj.weight");
            }
            double[] wo = Read(p + "self_attn.o_proj.weight");
            double[]? bq = TryRead(p + "self_attn.q_proj.bias"), bk = TryRead(p + "self_attn.k_proj.bias");
            double[]? bv = TryRead(p + "self_attn.v_proj.bias"), bo = TryRead(p + "self_attn.o_proj.bias");
            double[]? qn = TryRead(p + "self_attn.q_norm.weight"), kn = TryRead(p + "self_attn.k_norm.weight");
            double[] wd = Read(p + "mlp.down_proj.weight");

            var q = new double[T][]; var k = new double[T][]; var v = new double[T][];
            for (int t = 0; t < T; t++)
            {
                double[] a = Norm(h[t], g1);
                q[t] = Rope(HeadNorm(MatVec(wq, a, H * D, bq), qn, D), t, H, D, T);
                k[t] = Rope(HeadNorm(MatVec(wk, a, KV * D, bk), kn, D), t, KV, D, T);
                v[t] = MatVec(wv, a, KV * D, bv);
            }
            var attn = new double[T][];
            for (int t = 0; t < T; t++)
            {
                attn[t] = new double[H * D];
                for (int n = 0; n < H; n++)
                {
                    int kvHead = n / (H / KV);
                    var scores = new double[t + 1];
                    double max = double.NegativeInfinity;
                    int first = _c.ModelType == "phi3" && _c.SlidingWindow is int w ? Math.Max(0, t - w + 1) : 0;
                    for (int s = 0; s < first; s++) scores[s] = double.NegativeInfinity;
                    for (int s = first; s <= t; s++)
                    {
                        double dot = 0;
                        for (int i = 0; i < D; i++) dot += q[t][n * D + i] * k[s][kvHead * D + i];
                        scores[s] = dot / Math.Sqrt(D);
                        max = Math.Max(max, scores[s]);
                    }
                    double z = 0;
                    for (int s = 0; s <= t; s++) { scores[s] = Math.Exp(scores[s] - max); z += scores[s]; }
                    for (int s = 0; s <= t; s++)
                        for (int i = 0; i < D; i++) attn[t][n * D + i] += scores[s] / z * v[s][kvHead * D + i];
                }
            }
            for (int t = 0; t < T; t++)
            {
                double[] o = MatVec(wo, attn[t], C, bo);
                for (int j = 0; j < C; j++) h[t][j] += o[j];
                double[] f = Norm(h[t], g2);
                double[] gate = MatVec(wg, f, _c.IntermediateSize, null), up = MatVec(wu, f, _c.IntermediateSize, null);
                var m = new double[gate.Length];
                for (int j = 0; j < m.Length; j++) m[j] = gate[j] / (1 + Math.Exp(-gate[j])) * up[j];
                double[] down = MatVec(wd, m, C, null);
                for (int j = 0; j < C; j++) h[t][j] += down[j];
            }
        }
        double[] gf = Read("model.norm.weight");
        double[] head = _c.TieWordEmbeddings ? embed : Read("lm_head.weight");
        return h.Select(row => MatVec(head, Norm(row, gf), _c.VocabSize, null)).ToArray();
    }

    private double[] Norm(double[] x, double[] gamma)
    {
        double ms = x.Sum(e => e * e) / x.Length;
        double inv = 1 / Math.Sqrt(ms + _c.RmsNormEps);
        return x.Select((e, j) => e * inv * gamma[j]).ToArray();
    }

    private double[] HeadNorm(double[] x, double[]? gamma, int d)
    {
        if (gamma is null) return x;
        var r = new double[x.Length];
        for (int n = 0; n < x.Length / d; n++)
        {
            double[] head = Norm(x.AsSpan(n * d, d).ToArray(), gamma);
            head.CopyTo(r, n * d);
        }
        return r;
    }

    /// <summary>ω_i of pair i, from the config's raw <c>rope_scaling</c> JSON (read here, not through the engine's parser).</summary>
    private double Omega(int i, int d, int length)
    {
        double omega = Math.Pow(_c.RopeTheta, -2.0 * i / d);
        if (_c.RopeScaling is not { ValueKind: System.Text.Json.JsonValueKind.Object } s) return omega;
        string type = (s.TryGetProperty("rope_type", out var rt) ? rt : s.GetProperty("type")).GetString()!;
        if (type is "longrope" or "su")
        {
            var factors = s.GetProperty(length > OriginalContext ? "long_factor" : "short_factor");
            return omega / factors[i].GetDouble();
        }
        double factor = s.GetProperty("factor").GetDouble();
        if (type == "linear") return omega / factor;
        if (type == "yarn")
        {
            // Hugging Face's _compute_yarn_parameters with β_fast = 32, β_slow = 1 and truncation.
            double original = s.TryGetProperty("original_max_position_embeddings", out var o) ? o.GetDouble() : _c.MaxPositionEmbeddings;
            double Dim(double rotations) => d * Math.Log(original / (rotations * 2 * Math.PI)) / (2 * Math.Log(_c.RopeTheta));
            double lo = Math.Max(Math.Floor(Dim(32)), 0), hi = Math.Min(Math.Ceiling(Dim(1)), d - 1);
            if (lo == hi) hi += 0.001;
            double ramp = Math.Min(Math.Max((i - lo) / (hi - lo), 0), 1);
            double extrapolation = 1 - ramp;
            return omega / factor * (1 - extrapolation) + omega * extrapolation;
        }
        double low = s.GetProperty("low_freq_factor").GetDouble(), high = s.GetProperty("high_freq_factor").GetDouble();
        double context = s.GetProperty("original_max_position_embeddings").GetDouble();
        double lambda = 2 * Math.PI / omega;
        if (lambda > context / low) return omega / factor;
        if (lambda < context / high) return omega;
        double smooth = (context / lambda - low) / (high - low);
        return (1 - smooth) * omega / factor + smooth * omega;
    }

    /// <summary>phi3's original context: the top-level key, Phi3Config's default 4096 when absent.</summary>
    private int OriginalContext => _c.OriginalMaxPositionEmbeddings ?? 4096;

    /// <summary>Longrope's m (explicit attention_factor, else from the context ratio); 1 otherwise.</summary>
    private double Magnitude()
    {
        if (_c.RopeScaling is not { ValueKind: System.Text.Json.JsonValueKind.Object } s) return 1;
        string type = (s.TryGetProperty("rope_type", out var rt) ? rt : s.GetProperty("type")).GetString()!;
        if (type == "yarn")
        {
            double factor = s.GetProperty("factor").GetDouble();
            return factor <= 1 ? 1 : 0.1 * Math.Log(factor) + 1;
        }
        if (type is not ("longrope" or "su")) return 1;
        if (s.TryGetProperty("attention_factor", out var af)) return af.GetDouble();
        double ratio = (double)_c.MaxPositionEmbeddings / OriginalContext;
        return ratio <= 1 ? 1 : Math.Sqrt(1 + Math.Log(ratio) / Math.Log(OriginalContext));
    }

    private double[] Rope(double[] x, int t, int heads, int d, int length)
    {
        var r = (double[])x.Clone();
        int rotary = _c.PartialRotaryFactor is double f ? (int)(d * f) : d;
        double m = Magnitude();
        for (int n = 0; n < heads; n++)
        {
            for (int i = 0; i < rotary / 2; i++)
            {
                double phi = t * Omega(i, rotary, length);
                double a = x[n * d + i], b = x[n * d + i + rotary / 2];
                r[n * d + i] = m * (a * Math.Cos(phi) - b * Math.Sin(phi));
                r[n * d + i + rotary / 2] = m * (b * Math.Cos(phi) + a * Math.Sin(phi));
            }
        }
        return r;
    }

    /// <summary>y = W x + b with W stored row-major [rows, x.Length].</summary>
    private static double[] MatVec(double[] w, double[] x, int rows, double[]? bias)
    {
        var y = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double s = bias?[r] ?? 0;
            for (int c = 0; c < x.Length; c++) s += w[r * x.Length + c] * x[c];
            y[r] = s;
        }
        return y;
    }

    private double[]? TryRead(string name) => _source.Find(name) is null ? null : Read(name);

    /// <summary>Decodes a stored tensor to float64 from its raw bytes.</summary>
    private double[] Read(string name)
    {
        TensorInfo info = _source.Find(name) ?? throw new InvalidOperationException($"{name} missing");
        var bytes = new byte[info.Length];
        _source.ReadBytes(info, (chunk, offset) => chunk.CopyTo(bytes.AsSpan((int)offset)));
        int size = DTypes.SizeOf(info.DType);
        var values = new double[bytes.Length / size];
        for (int i = 0; i < values.Length; i++)
        {
            var b = bytes.AsSpan(i * size, size);
            values[i] = info.DType switch
            {
                DType.F32 => BitConverter.ToSingle(b),
                DType.F16 => (double)BitConverter.UInt16BitsToHalf(BitConverter.ToUInt16(b)),
                DType.BF16 => BitConverter.UInt32BitsToSingle((uint)BitConverter.ToUInt16(b) << 16),
                _ => throw new InvalidOperationException($"{info.DType} not handled by the reference"),
            };
        }
        return values;
    }
}
