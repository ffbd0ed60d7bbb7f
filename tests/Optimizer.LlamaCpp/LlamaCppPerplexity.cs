namespace Optimizer.LlamaCpp;

/// <summary>
/// Perplexity measured by llama.cpp with the windows of the engine's <c>PerplexityEvaluator</c> (and
/// <c>ModelComparison</c>): consecutive, non-overlapping windows of <c>context</c> text tokens (the last may be shorter),
/// each decoded from an empty KV cache. With a BOS token every window is prefixed with it and every text token is
/// scored; without, the first token of a window is context only and a final window of one token is dropped. So the
/// same tokens and context give the same scored-token count as the engine, and the two perplexities are comparable.
/// </summary>
public static class LlamaCppPerplexity
{
    /// <summary>
    /// Scores <paramref name="tokens"/> (text tokens without BOS) with <paramref name="session"/>, whose context must
    /// hold <paramref name="context"/> + 1 tokens when <paramref name="bos"/> is given.
    /// </summary>
    public static LlamaCppPerplexityResult Evaluate(LlamaCppSession session, IReadOnlyList<int> tokens, int context, int? bos,
        CancellationToken ct = default)
    {
        double sum = 0;
        long scored = 0;
        int windows = 0;
        foreach (int[] window in Windows(session, tokens, context, bos))
        {
            ct.ThrowIfCancellationRequested();
            var (nll, n) = session.Nll(window);
            sum += nll;
            scored += n;
            windows++;
        }
        if (scored == 0) throw new ArgumentException($"{tokens.Count} token(s) leave nothing to score.", nameof(tokens));
        return new LlamaCppPerplexityResult(Math.Exp(sum / scored), sum / scored, scored, windows);
    }

    /// <summary>
    /// The windows <see cref="Evaluate"/> decodes (BOS first when given); validates the arguments before the first one.
    /// </summary>
    public static IEnumerable<int[]> Windows(LlamaCppSession session, IReadOnlyList<int> tokens, int context, int? bos)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(context, 1);
        int offset = bos is null ? 0 : 1;
        if (context + offset > session.ContextSize)
            throw new ArgumentException($"Windows of {context + offset} tokens do not fit the session's context of {session.ContextSize}.", nameof(context));
        return Iterate(tokens, context, bos);
    }

    private static IEnumerable<int[]> Iterate(IReadOnlyList<int> tokens, int context, int? bos)
    {
        int offset = bos is null ? 0 : 1;
        for (int start = 0; start < tokens.Count; start += context)
        {
            int count = Math.Min(context, tokens.Count - start);
            if (bos is null && count < 2) yield break;
            var window = new int[count + offset];
            if (bos is int b) window[0] = b;
            for (int i = 0; i < count; i++) window[offset + i] = tokens[start + i];
            yield return window;
        }
    }
}
