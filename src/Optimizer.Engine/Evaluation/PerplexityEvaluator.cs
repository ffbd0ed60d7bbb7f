using System.Diagnostics;
using Optimizer.Engine.Model;
using static TorchSharp.torch;

namespace Optimizer.Engine.Evaluation;

/// <summary>
/// Perplexity of a <see cref="LlamaModel"/> over a token array (without BOS). The text is cut into consecutive,
/// non-overlapping windows of <see cref="PerplexityOptions.Context"/> tokens (the last one may be shorter). With a BOS
/// token, each window is prefixed with BOS and every text token of the window is scored (the first one given BOS
/// alone); without BOS, the first token of each window is context only and the rest are scored. Windows of equal length
/// are batched. The NLLs are summed in float64 in text order, so the same model and input give a bit-identical result.
/// </summary>
public sealed class PerplexityEvaluator
{
    private readonly LlamaModel _model;
    private readonly PerplexityOptions _options;

    /// <summary>Creates an evaluator for <paramref name="model"/>.</summary>
    public PerplexityEvaluator(LlamaModel model, PerplexityOptions? options = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _options = options ?? new PerplexityOptions();
        if (_options.Context < 1) throw new ArgumentOutOfRangeException(nameof(options), _options.Context, "Context must be at least 1 token.");
        if (_options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), _options.BatchSize, "BatchSize must be at least 1.");
    }

    /// <summary>The BOS id that prefixes each window, or null when windows are not prefixed.</summary>
    public int? Bos => _options.PrefixBos ? _model.Config.BosTokenId : null;

    /// <summary>Evaluates <paramref name="tokens"/>; throws <see cref="OptimizerException"/> when nothing can be scored.</summary>
    public PerplexityResult Evaluate(IReadOnlyList<int> tokens, IProgress<EvalProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        int? bos = Bos;
        var windows = new List<int[]>();
        for (int start = 0; start < tokens.Count; start += _options.Context)
        {
            int count = Math.Min(_options.Context, tokens.Count - start);
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

        var watch = Stopwatch.StartNew();
        double nllSum = 0;
        long scored = 0;
        int done = 0;
        while (done < windows.Count)
        {
            ct.ThrowIfCancellationRequested();
            int length = windows[done].Length;
            int take = 1;
            while (take < _options.BatchSize && done + take < windows.Count && windows[done + take].Length == length) take++;
            var batch = windows.GetRange(done, take);
            using (Tensor ids = ToTensor(batch))
            using (Tensor nll = _model.TokenNll(ids, ct))
            {
                float[] values = nll.data<float>().ToArray();
                foreach (float v in values) nllSum += v;
                scored += values.Length;
            }
            done += take;
            progress?.Report(new EvalProgress(done, windows.Count, scored, watch.Elapsed));
        }
        watch.Stop();
        double seconds = watch.Elapsed.TotalSeconds;
        return new PerplexityResult
        {
            TokensScored = scored,
            Windows = windows.Count,
            MeanNll = nllSum / scored,
            TokensPerSecond = seconds > 0 ? scored / seconds : double.PositiveInfinity,
            Elapsed = watch.Elapsed,
        };
    }

    private static Tensor ToTensor(List<int[]> batch)
    {
        int length = batch[0].Length;
        var flat = new long[batch.Count * length];
        for (int b = 0; b < batch.Count; b++)
        {
            for (int t = 0; t < length; t++) flat[b * length + t] = batch[b][t];
        }
        return tensor(flat, new long[] { batch.Count, length });
    }
}
