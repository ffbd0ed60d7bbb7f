namespace Optimizer.LlamaCpp;

/// <summary>
/// llama.cpp as a KL-divergence judge: the reference (e.g. llama.cpp running the F32 GGUF of the original) is decoded
/// once and its log-probabilities at every scored position kept; each candidate GGUF is then decoded on the same
/// windows (those of <see cref="LlamaCppPerplexity"/>, i.e. of the engine's <c>PerplexityEvaluator</c>) and judged by
/// the mean over scored tokens of KL(p_reference ‖ p_candidate) in nats, together with its perplexity.
/// </summary>
public sealed class LlamaCppKlDivergence
{
    private readonly double[][] _reference;
    private readonly IReadOnlyList<int> _tokens;
    private readonly int _context;
    private readonly int? _bos;

    private LlamaCppKlDivergence(double[][] reference, IReadOnlyList<int> tokens, int context, int? bos, LlamaCppPerplexityResult perplexity)
    {
        _reference = reference;
        _tokens = tokens;
        _context = context;
        _bos = bos;
        Reference = perplexity;
    }

    /// <summary>The reference's own perplexity on the windows.</summary>
    public LlamaCppPerplexityResult Reference { get; }

    /// <summary>
    /// Decodes <paramref name="tokens"/> (text tokens without BOS) with the reference <paramref name="session"/> in the
    /// windows of <see cref="LlamaCppPerplexity.Evaluate"/> and keeps its log-probabilities (float64) at every scored position.
    /// </summary>
    public static LlamaCppKlDivergence Collect(LlamaCppSession session, IReadOnlyList<int> tokens, int context, int? bos, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(tokens);
        var rows = new List<double[]>();
        double sum = 0;
        int windows = 0;
        foreach (int[] window in LlamaCppPerplexity.Windows(session, tokens, context, bos))
        {
            ct.ThrowIfCancellationRequested();
            float[][] logits = session.Logits(window);
            for (int t = 0; t + 1 < window.Length; t++)
            {
                double[] logp = LogSoftmax(logits[t]);
                sum -= logp[window[t + 1]];
                rows.Add(logp);
            }
            windows++;
        }
        if (rows.Count == 0) throw new ArgumentException($"{tokens.Count} token(s) leave nothing to score.", nameof(tokens));
        var ppl = new LlamaCppPerplexityResult(Math.Exp(sum / rows.Count), sum / rows.Count, rows.Count, windows);
        return new LlamaCppKlDivergence(rows.ToArray(), tokens, context, bos, ppl);
    }

    /// <summary>Decodes the same windows with <paramref name="candidate"/>: its perplexity and mean KL(reference ‖ candidate), nats/token.</summary>
    public LlamaCppJudgement Judge(LlamaCppSession candidate, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        double nll = 0, kl = 0;
        int position = 0, windows = 0;
        foreach (int[] window in LlamaCppPerplexity.Windows(candidate, _tokens, _context, _bos))
        {
            ct.ThrowIfCancellationRequested();
            float[][] logits = candidate.Logits(window);
            for (int t = 0; t + 1 < window.Length; t++)
            {
                double[] q = LogSoftmax(logits[t]);
                double[] p = _reference[position++];
                if (p.Length != q.Length) throw new InvalidOperationException($"The candidate's vocabulary ({q.Length}) differs from the reference's ({p.Length}).");
                nll -= q[window[t + 1]];
                double d = 0;
                for (int v = 0; v < p.Length; v++)
                    if (p[v] > double.NegativeInfinity) d += Math.Exp(p[v]) * (p[v] - q[v]);
                kl += Math.Max(0, d);
            }
            windows++;
        }
        if (position != _reference.Length) throw new InvalidOperationException($"Scored {position} token(s), the reference {_reference.Length}.");
        return new LlamaCppJudgement(Math.Exp(nll / position), kl / position, position, windows);
    }

    /// <summary>log softmax of <paramref name="logits"/> in float64.</summary>
    public static double[] LogSoftmax(float[] logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        double max = double.NegativeInfinity;
        foreach (float l in logits) max = Math.Max(max, l);
        double z = 0;
        foreach (float l in logits) z += Math.Exp(l - max);
        double log = max + Math.Log(z);
        var result = new double[logits.Length];
        for (int i = 0; i < logits.Length; i++) result[i] = logits[i] - log;
        return result;
    }
}

/// <summary>A candidate judged by llama.cpp: perplexity, mean KL(reference ‖ candidate) in nats/token, scored tokens, windows.</summary>
public sealed record LlamaCppJudgement(double Perplexity, double KlDivergence, long TokensScored, int Windows);
