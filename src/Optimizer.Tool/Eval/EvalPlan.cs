namespace Optimizer.Tool.Eval;

/// <summary>How many windows and scored tokens an evaluation of a token count will have (for progress and ETA).</summary>
public static class EvalPlan
{
    /// <summary>
    /// Windows and scored tokens for <paramref name="tokens"/> text tokens cut into windows of <paramref name="context"/>:
    /// with a BOS prefix every token is scored; without, the first token of each window is context only and a final
    /// window of one token is dropped.
    /// </summary>
    public static (int Windows, long Scored) Count(int tokens, int context, bool prefixBos)
    {
        int windows = 0;
        long scored = 0;
        for (int start = 0; start < tokens; start += context)
        {
            int count = Math.Min(context, tokens - start);
            if (!prefixBos && count < 2) break;
            windows++;
            scored += prefixBos ? count : count - 1;
        }
        return (windows, scored);
    }
}
