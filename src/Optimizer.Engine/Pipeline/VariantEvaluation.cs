using System.Diagnostics;
using Optimizer.Engine.Calibration;
using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Pipeline;

/// <summary>
/// A candidate file (docs/quantization.md "Candidates"): which weights (original or transformed) go through which round
/// trip — exactly the values the written file would hold.
/// </summary>
/// <param name="Name">The variant name (<c>stock</c>, <c>imatrix</c>, <c>compensated</c>, <c>mitigated-imatrix</c>, …).</param>
/// <param name="Weights">The recipe or storage name.</param>
/// <param name="Mitigated">Whether the weights are the transformed ones.</param>
/// <param name="Imatrix">Whether an importance matrix is used.</param>
/// <param name="Compensated">Whether the codes come from error-compensating rounding.</param>
/// <param name="Simplicity">Lower is simpler; ties go to the simpler candidate.</param>
/// <param name="Source">The float weights.</param>
/// <param name="RoundTrip">The round trip of exactly what the file stores.</param>
/// <param name="TensorBytes">Bytes of the tensor data the file would store, or null when not known.</param>
public sealed record CandidatePlan(string Name, string Weights, bool Mitigated, bool Imatrix, bool Compensated, int Simplicity,
    ITensorSource Source, IWeightRoundTrip RoundTrip, long? TensorBytes);

/// <summary>
/// Scores every variant against the original model on the evaluation text with <see cref="ModelComparison"/>:
/// the transformed weights; every candidate file (weight-only fake quantization of exactly what it would store); W8A8
/// (int8 per-channel weights, 8-bit per-tensor static activations calibrated on the calibration text) and W4A8 (int4
/// group-wise weights, 8-bit per-token dynamic activations), each with and without the mitigations. Every model
/// streams its layers.
/// </summary>
public static class VariantEvaluation
{
    /// <summary>The most variants evaluated besides the original (transformed, seven candidates, four activation variants).</summary>
    public const int CandidateCount = 12;

    /// <summary>
    /// Runs the comparison, <paramref name="maxConcurrent"/> candidates at a time (each alive model holds its own
    /// embedding and head; the reference's logits are recomputed per group). The first result is the original
    /// (perplexity of the reference, KLD 0, top-1 1). Results do not depend on the grouping.
    /// </summary>
    public static IReadOnlyList<VariantResult> Run(ModelConfig config, ITensorSource original, ITensorSource transformed, bool mitigated,
        IReadOnlyList<CandidatePlan> candidates, CalibrationSet calibration, EvaluationText text, ModelOptions modelOptions, int batchSize,
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

        ArgumentNullException.ThrowIfNull(candidates);
        var plans = new List<(string Name, string Weights, string Activations, bool Mitigated, Func<LlamaModel> Create)>
        {
            ("transformed", "transformed", "none", true, () => Model(transformed)),
        };
        foreach (CandidatePlan candidate in candidates)
            plans.Add((candidate.Name, candidate.Weights, "none", candidate.Mitigated, () => Model(View(new FakeQuantizedWeights(candidate.Source, candidate.RoundTrip)))));
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
        var byName = candidates.ToDictionary(c => c.Name, StringComparer.Ordinal);
        for (int i = 0; i < results.Count; i++)
        {
            ComparisonResult r = results[i];
            var variant = new VariantResult(r.Name, plans[i].Weights, plans[i].Activations, plans[i].Mitigated, r.Perplexity, r.PerplexityIncrease,
                r.MeanKlDivergence, r.Top1Agreement, r.Tokens, null);
            if (byName.TryGetValue(r.Name, out CandidatePlan? c))
                variant = variant with { Candidate = true, Imatrix = c.Imatrix, Compensated = c.Compensated, TensorBytes = c.TensorBytes, Simplicity = c.Simplicity };
            variants.Add(variant);
        }
        return variants;
    }

    private sealed class EvalReport(Action<EvalProgress> report) : IProgress<EvalProgress>
    {
        public void Report(EvalProgress value) => report(value);
    }
}
