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
        EvalWindows.Validate(_options);
    }

    /// <summary>The BOS id that prefixes each window, or null when windows are not prefixed.</summary>
    public int? Bos => _options.PrefixBos ? _model.Config.BosTokenId : null;

    /// <summary>Evaluates <paramref name="tokens"/>; throws <see cref="OptimizerException"/> when nothing can be scored.</summary>
    public PerplexityResult Evaluate(IReadOnlyList<int> tokens, IProgress<EvalProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        EvalWindows windows = EvalWindows.Build(tokens, _options.Context, Bos);
        int total = windows.Inputs.Count;

        var watch = Stopwatch.StartNew();
        double nllSum = 0;
        long scored = 0;
        foreach (var (start, count) in windows.Batches(_options.BatchSize))
        {
            ct.ThrowIfCancellationRequested();
            using (Tensor ids = windows.ToTensor(start, count))
            using (Tensor nll = _model.TokenNll(ids, ct))
            {
                float[] values = nll.data<float>().ToArray();
                foreach (float v in values) nllSum += v;
                scored += values.Length;
            }
            progress?.Report(new EvalProgress(start + count, total, scored, watch.Elapsed));
        }
        watch.Stop();
        if (!double.IsFinite(nllSum))
            throw new OptimizerException(ErrorCodes.NonFiniteOutput,
                "The model's log-likelihood is not finite: its activations overflow float32 (the weights themselves are finite). No perplexity can be reported.");
        double seconds = watch.Elapsed.TotalSeconds;
        return new PerplexityResult
        {
            TokensScored = scored,
            Windows = total,
            MeanNll = nllSum / scored,
            TokensPerSecond = seconds > 0 ? scored / seconds : double.PositiveInfinity,
            Elapsed = watch.Elapsed,
        };
    }
}
