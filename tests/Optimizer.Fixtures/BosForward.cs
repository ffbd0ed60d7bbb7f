namespace Optimizer.Fixtures;

/// <summary>
/// An exact float64 forward pass of one token at position 0, where causal attention sees only the token itself
/// (softmax over one key is 1 and RoPE at position 0 is the identity), so the first token's residual stream does not
/// depend on any later token. The builder uses it to calibrate the planted massive activation and to record the
/// values a real forward pass must reproduce.
/// </summary>
internal sealed class BosForward
{
    private BosForward(int layers)
    {
        AttnInput = new double[layers][];
        FfnInput = new double[layers][];
        FfnNormOutput = new double[layers][];
        Gate = new double[layers][];
        Up = new double[layers][];
        DownInput = new double[layers][];
        DownOutput = new double[layers][];
        LayerOutput = new double[layers][];
    }

    /// <summary>attn.y1 per layer.</summary>
    public double[][] AttnInput { get; }

    /// <summary>y1 per layer.</summary>
    public double[][] FfnInput { get; }

    /// <summary>y2 per layer.</summary>
    public double[][] FfnNormOutput { get; }

    /// <summary>y3 per layer.</summary>
    public double[][] Gate { get; }

    /// <summary>y4 per layer.</summary>
    public double[][] Up { get; }

    /// <summary>y6 per layer.</summary>
    public double[][] DownInput { get; }

    /// <summary>y7 per layer.</summary>
    public double[][] DownOutput { get; }

    /// <summary>y8 per layer.</summary>
    public double[][] LayerOutput { get; }

    /// <summary>Runs token <paramref name="tokenId"/> at position 0 through every layer of <paramref name="w"/>.</summary>
    public static BosForward Run(SyntheticWeights w, int tokenId)
    {
        var o = w.Options;
        int d = o.HiddenSize, hd = o.HeadDim, q = o.Heads * hd, kv = o.KeyValueHeads * hd, f = o.IntermediateSize;
        int group = o.Heads / o.KeyValueHeads;
        var trace = new BosForward(o.Layers);
        var x = w.Embedding.AsSpan(tokenId * d, d).ToArray();
        for (int i = 0; i < o.Layers; i++)
        {
            var l = w.Layers[i];
            trace.AttnInput[i] = (double[])x.Clone();
            var h = RmsNorm(x, l.AttnNorm, o.RmsNormEps);
            var v = MatVec(l.V, kv, d, h, l.VBias);
            var attention = new double[q];
            for (int head = 0; head < o.Heads; head++)
                Array.Copy(v, head / group * hd, attention, head * hd, hd);
            var attnOut = MatVec(l.O, d, q, attention, null);
            for (int c = 0; c < d; c++) x[c] += attnOut[c];
            trace.FfnInput[i] = (double[])x.Clone();
            var y2 = RmsNorm(x, l.FfnNorm, o.RmsNormEps);
            trace.FfnNormOutput[i] = y2;
            var y3 = MatVec(l.Gate, f, d, y2, null);
            var y4 = MatVec(l.Up, f, d, y2, null);
            var y6 = new double[f];
            for (int k = 0; k < f; k++) y6[k] = DeterministicMath.Silu(y3[k]) * y4[k];
            var y7 = MatVec(l.Down, d, f, y6, null);
            for (int c = 0; c < d; c++) x[c] += y7[c];
            trace.Gate[i] = y3;
            trace.Up[i] = y4;
            trace.DownInput[i] = y6;
            trace.DownOutput[i] = y7;
            trace.LayerOutput[i] = (double[])x.Clone();
        }
        return trace;
    }

    /// <summary>x / sqrt(mean(x²) + eps) ⊙ γ, as Hugging Face's LlamaRMSNorm.</summary>
    public static double[] RmsNorm(ReadOnlySpan<double> x, ReadOnlySpan<double> gamma, double eps)
    {
        double inv = 1.0 / Rms(x, eps);
        var y = new double[x.Length];
        for (int c = 0; c < x.Length; c++) y[c] = x[c] * inv * gamma[c];
        return y;
    }

    /// <summary>sqrt(mean(x²) + eps).</summary>
    public static double Rms(ReadOnlySpan<double> x, double eps)
    {
        double sum = 0;
        foreach (double value in x) sum += value * value;
        return Math.Sqrt(sum / x.Length + eps);
    }

    /// <summary>W·x (+ b) for a row-major [rows, cols] matrix.</summary>
    public static double[] MatVec(double[] w, int rows, int cols, ReadOnlySpan<double> x, double[]? bias)
    {
        var y = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double sum = bias?[r] ?? 0.0;
            var row = w.AsSpan(r * cols, cols);
            for (int c = 0; c < cols; c++) sum += row[c] * x[c];
            y[r] = sum;
        }
        return y;
    }

    /// <summary>Lower median of |values| (for an even count the smaller middle value, as PyTorch and the engine's statistics).</summary>
    public static double MedianAbs(ReadOnlySpan<double> values)
    {
        if (values.Length == 0) return 0;
        var a = new double[values.Length];
        for (int i = 0; i < a.Length; i++) a[i] = Math.Abs(values[i]);
        Array.Sort(a);
        return a[(a.Length - 1) / 2];
    }
}
