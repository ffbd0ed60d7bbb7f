using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Tests.Fixtures;

/// <summary>
/// An independent float64 forward of one token sequence, written from the Llama equations for these tests (it shares
/// no code with the builder or the engine), that keeps every operator position: attn.y1, attn.norm_in, attn.y2,
/// attn.q/k/v (before RoPE), attn.out, attn.o, y1, norm_in, y2 … y8.
/// </summary>
internal static class Float64SiteDecoder
{
    public static SiteActivations Run(ModelConfig c, ITensorSource source, int[] tokens)
    {
        int T = tokens.Length, C = c.HiddenSize, H = c.NumAttentionHeads, KV = c.KeyValueHeads, D = c.HeadDim, F = c.IntermediateSize;
        var acts = new SiteActivations();
        double[] embed = Read(source, "model.embed_tokens.weight")!;
        var h = new double[T][];
        for (int t = 0; t < T; t++) h[t] = embed.AsSpan(tokens[t] * C, C).ToArray();
        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            string p = $"model.layers.{l}.";
            double[] g1 = Read(source, p + "input_layernorm.weight")!, g2 = Read(source, p + "post_attention_layernorm.weight")!;
            double[] wq = Read(source, p + "self_attn.q_proj.weight")!, wk = Read(source, p + "self_attn.k_proj.weight")!;
            double[] wv = Read(source, p + "self_attn.v_proj.weight")!, wo = Read(source, p + "self_attn.o_proj.weight")!;
            double[]? bq = Read(source, p + "self_attn.q_proj.bias"), bk = Read(source, p + "self_attn.k_proj.bias");
            double[]? bv = Read(source, p + "self_attn.v_proj.bias");
            double[] wg = Read(source, p + "mlp.gate_proj.weight")!, wu = Read(source, p + "mlp.up_proj.weight")!;
            double[] wd = Read(source, p + "mlp.down_proj.weight")!;

            acts.Set(l, ProbeSites.Id(ProbeSite.AttnY1), Copy(h));
            var normIn = h.Select(x => Normalize(x, c.RmsNormEps)).ToArray();
            var a = normIn.Select(x => Scale(x, g1)).ToArray();
            var q = a.Select(x => MatVec(wq, x, H * D, bq)).ToArray();
            var k = a.Select(x => MatVec(wk, x, KV * D, bk)).ToArray();
            var v = a.Select(x => MatVec(wv, x, KV * D, bv)).ToArray();
            acts.Set(l, ProbeSites.Id(ProbeSite.AttnNormIn), normIn);
            acts.Set(l, ProbeSites.Id(ProbeSite.AttnY2), a);
            acts.Set(l, ProbeSites.Id(ProbeSite.AttnQ), q);
            acts.Set(l, ProbeSites.Id(ProbeSite.AttnK), k);
            acts.Set(l, ProbeSites.Id(ProbeSite.AttnV), v);
            var qr = q.Select((x, t) => Rope(x, t, H, D, c.RopeTheta)).ToArray();
            var kr = k.Select((x, t) => Rope(x, t, KV, D, c.RopeTheta)).ToArray();
            var attn = new double[T][];
            for (int t = 0; t < T; t++)
            {
                attn[t] = new double[H * D];
                for (int n = 0; n < H; n++)
                {
                    int g = n / (H / KV);
                    var scores = new double[t + 1];
                    double max = double.NegativeInfinity;
                    for (int s = 0; s <= t; s++)
                    {
                        double dot = 0;
                        for (int i = 0; i < D; i++) dot += qr[t][n * D + i] * kr[s][g * D + i];
                        scores[s] = dot / Math.Sqrt(D);
                        max = Math.Max(max, scores[s]);
                    }
                    double sum = 0;
                    for (int s = 0; s <= t; s++) sum += scores[s] = Math.Exp(scores[s] - max);
                    for (int s = 0; s <= t; s++)
                        for (int i = 0; i < D; i++) attn[t][n * D + i] += scores[s] / sum * v[s][g * D + i];
                }
            }
            var o = attn.Select(x => MatVec(wo, x, C, null)).ToArray();
            acts.Set(l, ProbeSites.Id(ProbeSite.AttnOut), attn);
            acts.Set(l, ProbeSites.Id(ProbeSite.AttnO), o);
            for (int t = 0; t < T; t++) for (int i = 0; i < C; i++) h[t][i] += o[t][i];
            acts.Set(l, ProbeSites.Id(ProbeSite.Y1), Copy(h));

            var n2 = h.Select(x => Normalize(x, c.RmsNormEps)).ToArray();
            var y2 = n2.Select(x => Scale(x, g2)).ToArray();
            var y3 = y2.Select(x => MatVec(wg, x, F, null)).ToArray();
            var y4 = y2.Select(x => MatVec(wu, x, F, null)).ToArray();
            var y5 = y3.Select(x => x.Select(z => z / (1 + Math.Exp(-z))).ToArray()).ToArray();
            var y6 = y5.Select((x, t) => x.Select((z, i) => z * y4[t][i]).ToArray()).ToArray();
            var y7 = y6.Select(x => MatVec(wd, x, C, null)).ToArray();
            for (int t = 0; t < T; t++) for (int i = 0; i < C; i++) h[t][i] += y7[t][i];
            acts.Set(l, ProbeSites.Id(ProbeSite.NormIn), n2);
            acts.Set(l, ProbeSites.Id(ProbeSite.Y2), y2);
            acts.Set(l, ProbeSites.Id(ProbeSite.Y3), y3);
            acts.Set(l, ProbeSites.Id(ProbeSite.Y4), y4);
            acts.Set(l, ProbeSites.Id(ProbeSite.Y5), y5);
            acts.Set(l, ProbeSites.Id(ProbeSite.Y6), y6);
            acts.Set(l, ProbeSites.Id(ProbeSite.Y7), y7);
            acts.Set(l, ProbeSites.Id(ProbeSite.Y8), Copy(h));
        }
        return acts;
    }

    private static double[]? Read(ITensorSource source, string name)
    {
        var info = source.Find(name);
        return info is null ? null : TensorData.ReadFloat32(source, info).Select(x => (double)x).ToArray();
    }

    private static double[][] Copy(double[][] rows) => rows.Select(r => (double[])r.Clone()).ToArray();

    private static double[] Normalize(double[] x, double eps)
    {
        double ms = x.Sum(z => z * z) / x.Length;
        double inv = 1 / Math.Sqrt(ms + eps);
        return x.Select(z => z * inv).ToArray();
    }

    private static double[] Scale(double[] x, double[] g) => x.Select((z, i) => z * g[i]).ToArray();

    private static double[] MatVec(double[] w, double[] x, int rows, double[]? bias)
    {
        int cols = x.Length;
        var y = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double sum = bias?[r] ?? 0;
            for (int i = 0; i < cols; i++) sum += w[r * cols + i] * x[i];
            y[r] = sum;
        }
        return y;
    }

    private static double[] Rope(double[] x, int position, int heads, int d, double theta)
    {
        var y = (double[])x.Clone();
        for (int n = 0; n < heads; n++)
        {
            for (int i = 0; i < d / 2; i++)
            {
                double angle = position * Math.Pow(theta, -2.0 * i / d);
                double cos = Math.Cos(angle), sin = Math.Sin(angle);
                double a = x[n * d + i], b = x[n * d + i + d / 2];
                y[n * d + i] = a * cos - b * sin;
                y[n * d + i + d / 2] = b * cos + a * sin;
            }
        }
        return y;
    }
}
