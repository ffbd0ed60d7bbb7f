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

    /// <summary>Runs the comparison; the first result is the original (perplexity of the reference, KLD 0, top-1 1).</summary>
    public static IReadOnlyList<VariantResult> Run(ModelConfig config, ITensorSource original, ITensorSource transformed, bool mitigated,
        IWeightRoundTrip written, string writtenWeights, CalibrationSet calibration, EvaluationText text, ModelOptions modelOptions, int batchSize,
        IProgress<OptimizeProgress>? progress, Stopwatch watch, CancellationToken ct)
    {
        var plans = new List<(string Name, string Weights, string Activations, bool Mitigated, Func<LlamaModel> Create)>();
        var views = new List<IDisposable>();
        var models = new List<LlamaModel>();
        try
        {
            LlamaModel Model(ITensorSource source, ActivationQuantization? activations = null)
                => LlamaModel.Create(config, source, modelOptions with { ActivationQuantization = activations });
            T View<T>(T view) where T : IDisposable
            {
                views.Add(view);
                return view;
            }

            plans.Add(("transformed", "transformed", "none", true, () => Model(transformed)));
            plans.Add((WrittenName, writtenWeights, "none", mitigated, () => Model(View(new FakeQuantizedWeights(transformed, written)))));
            plans.Add((WrittenName + "-unmitigated", writtenWeights, "none", false, () => Model(View(new FakeQuantizedWeights(original, written)))));
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

            var candidates = new List<(string, LlamaModel)>();
            for (int i = 0; i < plans.Count; i++)
            {
                ct.ThrowIfCancellationRequested();
                var model = plans[i].Create();
                models.Add(model);
                candidates.Add((plans[i].Name, model));
                progress?.Report(new OptimizeProgress("preparing", i + 1, plans.Count, "variants", watch.Elapsed));
            }
            var reference = Model(original);
            models.Add(reference);
            var eval = new PerplexityOptions { Context = text.Context, BatchSize = batchSize };
            var report = progress is null ? null : new EvalReport(p => progress.Report(new OptimizeProgress("evaluating", p.WindowsDone, p.WindowsTotal, "windows", watch.Elapsed)));
            IReadOnlyList<ComparisonResult> results = ModelComparison.Compare(reference, candidates, text.Tokens, eval, report, ct);

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
        finally
        {
            foreach (var model in models) model.Dispose();
            foreach (var view in views) view.Dispose();
        }
    }

    private sealed class EvalReport(Action<EvalProgress> report) : IProgress<EvalProgress>
    {
        public void Report(EvalProgress value) => report(value);
    }
}
