using static TorchSharp.torch;

namespace Optimizer.Engine.Evaluation;

/// <summary>
/// How an evaluation text is cut into model inputs, shared by <see cref="PerplexityEvaluator"/> and
/// <see cref="ModelComparison"/>: consecutive, non-overlapping windows of <see cref="PerplexityOptions.Context"/> text
/// tokens (the last may be shorter). With a BOS token each window is prefixed with it and every text token is scored;
/// without, the first token of a window is context only (and a final window of one token is dropped). In both cases
/// position t of an input predicts token t+1, so an input of length L scores L−1 tokens. Consecutive windows of equal
/// length form a batch of at most <see cref="PerplexityOptions.BatchSize"/>.
/// </summary>
internal sealed class EvalWindows
{
    private EvalWindows(List<int[]> windows) => Inputs = windows;

    /// <summary>The model inputs, in text order.</summary>
    public IReadOnlyList<int[]> Inputs { get; }

    /// <summary>Checks <paramref name="options"/> (context and batch size at least 1).</summary>
    public static void Validate(PerplexityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Context < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Context, "Context must be at least 1 token.");
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "BatchSize must be at least 1.");
    }

    /// <summary>
    /// Cuts <paramref name="tokens"/> (without BOS) into windows, each prefixed with <paramref name="bos"/> when given;
    /// throws <see cref="OptimizerException"/> (<see cref="ErrorCodes.TextTooShort"/>) when nothing can be scored.
    /// </summary>
    public static EvalWindows Build(IReadOnlyList<int> tokens, int context, int? bos)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var windows = new List<int[]>();
        for (int start = 0; start < tokens.Count; start += context)
        {
            int count = Math.Min(context, tokens.Count - start);
            if (bos is null && count < 2) break; // a single token with no BOS has nothing to predict
            int offset = bos is null ? 0 : 1;
            var window = new int[count + offset];
            if (bos is int b) window[0] = b;
            for (int i = 0; i < count; i++) window[offset + i] = tokens[start + i];
            windows.Add(window);
        }
        if (windows.Count == 0)
            throw new OptimizerException(ErrorCodes.TextTooShort,
                $"The evaluation text has {tokens.Count} token(s); at least {(bos is null ? 2 : 1)} are needed to score one.");
        return new EvalWindows(windows);
    }

    /// <summary>The batches as (first window, window count), in text order.</summary>
    public IEnumerable<(int Start, int Count)> Batches(int batchSize)
    {
        for (int done = 0; done < Inputs.Count;)
        {
            int length = Inputs[done].Length;
            int take = 1;
            while (take < batchSize && done + take < Inputs.Count && Inputs[done + take].Length == length) take++;
            yield return (done, take);
            done += take;
        }
    }

    /// <summary>The windows <paramref name="start"/> … <paramref name="start"/>+<paramref name="count"/>−1 as an int64 tensor [B, T] on the CPU.</summary>
    public Tensor ToTensor(int start, int count)
    {
        int length = Inputs[start].Length;
        var flat = new long[count * length];
        for (int b = 0; b < count; b++)
        {
            int[] window = Inputs[start + b];
            for (int t = 0; t < length; t++) flat[b * length + t] = window[t];
        }
        return tensor(flat, new long[] { count, length });
    }
}
