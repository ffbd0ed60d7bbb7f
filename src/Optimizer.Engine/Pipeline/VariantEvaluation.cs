using System.Diagnostics;
using Optimizer.Engine.Calibration;
using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Pipeline;

/// <summary>
/// Scores every variant against the original model on the evaluation text with <see cref="ModelComparison"/>:
/// the transformed weights; the chosen quantization as weight-only fake quantization with and without the mitigations;
/// W8A8 (int8 per-channel weights, 8-bit per-tensor static activations calibrated on the calibration text) and W4A8
/// (int4 group-wise weights, 8-bit per-token dynamic activations), each with and without the mitigations. Every model
/// streams its layers. The variant that is written is <see cref="WrittenName"/>.
/// </summary>
public static class VariantEvaluation
{
    /// <summary>The name of the written variant (quantized weights with the kept mitigations).</summary>
    public const string WrittenName = "quantized";

    /// <summary>The number of candidates (every variant but the original).</summary>
    public const int CandidateCount = 7;

    /// <summary>
    /// Runs the comparison, <paramref name="maxConcurrent"/> candidates at a time (each alive model holds its own
    /// embedding and head; the reference's logits are recomputed per group). The first result is the original
    /// (perplexity of the reference, KLD 0, top-1 1). Results do not depend on the grouping.
    /// </summary>
    public static IReadOnlyList<VariantResult> Run(ModelConfig config, ITensorSource original, ITensorSource transformed, bool mitigated,
        IWeightRoundTrip written, string writtenWeights, CalibrationSet calibration, EvaluationText text, ModelOptions modelOptions, int batchSize,
        int maxConcurrent, IProgress<OptimizeProgress>? progress, Stopwatch watch, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxConcurrent);
        var views = new List<IDisposable>();
        LlamaModel Model(ITensorSource source, ActivationQuantization? activations = null)
            => LlamaModel.Create(config, source, modelOptions with { ActivationQuantization = activations });
        T View<T>(T view) where T : IDisposable
        {
            views.Add(view);
            return view;
        }

        var plans = new List<(string Name, string Weights, string Activations, bool Mitigated, Func<LlamaModel> Create)>
        {
            ("transformed", "transformed", "none", true, () => Model(transformed)),
            (WrittenName, writtenWeights, "none", mitigated, () => Model(View(new FakeQuantizedWeights(transformed, written)))),
            (WrittenName + "-unmitigated", writtenWeights, "none", false, () => Model(View(new FakeQuantizedWeights(original, written)))),
        };
        var int8 = new IntRoundTrip(config, 8);
        var int4 = new IntRoundTrip(config, 4, 128);
        foreach (var (source, isMitigated, suffix) in new[] { (transformed, mitigated, ""), (original, false, "-unmitigated") })
        {
            plans.Add(("w8a8-static" + suffix, "int8", "a8-per-tensor-static", isMitigated, () =>
            {
                var weights = View(new FakeQuantizedWeights(source, int8));
                StaticActivationScales scales;
                using (var plain = Model(weights)) scales = StaticActivationScales.Calibrate(plain, calibration.Sequences, batchSize, ct);
                return Model(weights, new ActivationQuantization(8, ActivationQuantMode.PerTensorStatic, scales));
            }));
            plans.Add(("w4a8-dynamic" + suffix, "int4", "a8-per-token-dynamic", isMitigated, () =>
                Model(View(new FakeQuantizedWeights(source, int4)), new ActivationQuantization(8, ActivationQuantMode.PerTokenDynamic))));
        }

        var results = new List<ComparisonResult>(plans.Count);
        var eval = new PerplexityOptions { Context = text.Context, BatchSize = batchSize };
        int groups = (plans.Count + maxConcurrent - 1) / maxConcurrent;
        using var reference = Model(original);
        try
        {
            for (int group = 0; group < groups; group++)
            {
                var models = new List<(string, LlamaModel)>();
                try
                {
                    foreach (var plan in plans.Skip(group * maxConcurrent).Take(maxConcurrent))
                    {
                        ct.ThrowIfCancellationRequested();
                        models.Add((plan.Name, plan.Create()));
                        progress?.Report(new OptimizeProgress("preparing", results.Count + models.Count, plans.Count, "variants", watch.Elapsed));
                    }
                    int done = group;
                    var report = progress is null ? null : new EvalReport(p => progress.Report(new OptimizeProgress("evaluating",
                        (long)done * p.WindowsTotal + p.WindowsDone, (long)groups * p.WindowsTotal, "windows", watch.Elapsed)));
                    results.AddRange(ModelComparison.Compare(reference, models, text.Tokens, eval, report, ct));
                }
                finally
                {
                    foreach (var (_, model) in models) model.Dispose();
                    foreach (var view in views) view.Dispose();
                    views.Clear();
                }
            }
        }
        finally
        {
            foreach (var view in views) view.Dispose();
        }

        var variants = new List<VariantResult>(results.Count + 1);
        ComparisonResult first = results[0];
        variants.Add(new VariantResult("original", "original", "none", false, first.ReferencePerplexity, 0, 0, 1, first.Tokens, null));
        for (int i = 0; i < results.Count; i++)
        {
            ComparisonResult r = results[i];
            variants.Add(new VariantResult(r.Name, plans[i].Weights, plans[i].Activations, plans[i].Mitigated, r.Perplexity, r.PerplexityIncrease,
                r.MeanKlDivergence, r.Top1Agreement, r.Tokens, null));
        }
        return variants;
    }

    private sealed class EvalReport(Action<EvalProgress> report) : IProgress<EvalProgress>
    {
        public void Report(EvalProgress value) => report(value);
    }
}
