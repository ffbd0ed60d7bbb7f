using System.Diagnostics;
using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Manifest;
using Optimizer.Engine.Model;
using Optimizer.Engine.Transforms;

namespace Optimizer.Engine.Pipeline;

/// <summary>
/// The transform stage of <c>optimize</c>: plans the exact mitigations, verifies them (max |Δlogit| on the calibration
/// text), then — when <c>tma-clamp</c> is asked for and changes anything — gates the approximate clamp on held-out
/// perplexity: it is kept only when it raises perplexity by at most <see cref="OptimizeOptions.MaxPplIncrease"/>,
/// otherwise rolled back (the exact plan is used) and recorded as such. Owns the chosen <see cref="Weights"/> view.
/// </summary>
public sealed class TransformStage : IDisposable
{
    private readonly List<IDisposable> _views = new();

    private TransformStage(TransformPlan plan, ITensorSource weights, ManifestTransforms record, IReadOnlyList<string> warnings)
    {
        Plan = plan;
        Weights = weights;
        Record = record;
        Warnings = warnings;
    }

    /// <summary>
    /// The largest max |Δlogit| of the exact transforms, relative to the largest |logit|, that verification accepts
    /// (float32 rescaling leaves about 1e-6); above it the run fails with <see cref="ErrorCodes.TransformVerificationFailed"/>.
    /// </summary>
    public const double ExactTolerance = 1e-3;

    /// <summary>The plan whose transforms are kept.</summary>
    public TransformPlan Plan { get; }

    /// <summary>The transformed weights (a view over the original; valid while this stage and the model are open).</summary>
    public ITensorSource Weights { get; }

    /// <summary>The manifest's <c>transforms</c> section.</summary>
    public ManifestTransforms Record { get; }

    /// <summary>Whether any transform is kept.</summary>
    public bool Mitigated => !Plan.IsIdentity;

    /// <summary>Things the user should know (a rolled-back clamp).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Plans, verifies and gates the transforms of <paramref name="analysis"/>.</summary>
    public static TransformStage Run(OutlierAnalysisResult analysis, TransformOptions options, OptimizeOptions optimize, EvaluationText heldOut,
        ModelOptions modelOptions, IProgress<OptimizeProgress>? progress, Stopwatch watch, CancellationToken ct)
    {
        ModelFolder folder = analysis.Analysis.Model;
        ModelConfig config = folder.Config;
        var exactOptions = options with { Mitigations = options.Mitigations & ~Mitigation.TmaClamp };
        TransformPlan exact = TransformPlanner.Plan(analysis.Analysis, analysis.Channels, exactOptions);
        var exactView = new TransformedWeights(folder.Weights, config, exact);
        var views = new List<IDisposable> { exactView };
        try
        {
            ct.ThrowIfCancellationRequested();
            progress?.Report(new OptimizeProgress("verifying", 0, 1, "steps", watch.Elapsed));
            double delta = 0;
            if (!exact.IsIdentity)
            {
                LogitDeltaResult measured = LogitDelta.Measure(config, folder.Weights, exactView, analysis.Analysis.Calibration.Sequences, modelOptions, ct);
                if (!(measured.Relative <= ExactTolerance))
                    throw new OptimizerException(ErrorCodes.TransformVerificationFailed,
                        $"The exact transforms of model '{optimize.EffectiveOutputName}' changed the logits by up to {measured.MaxAbs:G4} "
                        + $"({measured.Relative:G4} of the largest logit, tolerance {ExactTolerance:G4}); nothing was written.");
                delta = measured.MaxAbs;
            }
            progress?.Report(new OptimizeProgress("verifying", 1, 1, "steps", watch.Elapsed));

            TransformPlan chosen = exact;
            ITensorSource weights = exactView;
            ClampGateRecord? gate = null;
            var warnings = new List<string>();
            IReadOnlyList<TransformEntry> entries = exact.Records.Select(r => Entry(r, TransformEntry.Kept)).ToArray();
            if (options.Has(Mitigation.TmaClamp))
            {
                TransformPlan full = TransformPlanner.Plan(analysis.Analysis, analysis.Channels, options);
                TransformRecord clamp = full.Records.Single(r => r.Name == Mitigations.Id(Mitigation.TmaClamp));
                if (full.IsExact)
                {
                    chosen = full;
                    entries = full.Records.Select(r => Entry(r, TransformEntry.Kept)).ToArray();
                }
                else
                {
                    var fullView = new TransformedWeights(folder.Weights, config, full);
                    views.Add(fullView);
                    gate = Gate(config, exactView, fullView, heldOut, optimize, modelOptions, progress, watch, ct);
                    if (gate.Kept)
                    {
                        chosen = full;
                        weights = fullView;
                        entries = full.Records.Select(r => Entry(r, TransformEntry.Kept)).ToArray();
                    }
                    else
                    {
                        entries = entries.Append(Entry(clamp, TransformEntry.RolledBack)).ToArray();
                        warnings.Add($"tma-clamp rolled back: held-out perplexity rose by {PercentValue.Format(Math.Round(gate.Increase, 6))}, "
                            + $"more than max-ppl-increase {PercentValue.Format(optimize.MaxPplIncrease)}.");
                    }
                }
            }
            var record = new ManifestTransforms(Mitigations.Ordered.Where(options.Has).Select(Mitigations.Id).ToArray(), entries, delta, gate);
            var stage = new TransformStage(chosen, weights, record, warnings);
            stage._views.AddRange(views);
            views.Clear();
            return stage;
        }
        finally
        {
            foreach (var view in views) view.Dispose();
        }
    }

    /// <summary>Disposes the transformed views (not the original weights).</summary>
    public void Dispose()
    {
        foreach (var view in _views) view.Dispose();
        _views.Clear();
    }

    private static ClampGateRecord Gate(ModelConfig config, ITensorSource exact, ITensorSource full, EvaluationText heldOut, OptimizeOptions optimize,
        ModelOptions modelOptions, IProgress<OptimizeProgress>? progress, Stopwatch watch, CancellationToken ct)
    {
        using var without = LlamaModel.Create(config, exact, modelOptions);
        using var with = LlamaModel.Create(config, full, modelOptions);
        var report = progress is null ? null : new EvalReport(p => progress.Report(new OptimizeProgress("clamp-gate", p.WindowsDone, p.WindowsTotal, "windows", watch.Elapsed)));
        var result = ModelComparison.Compare(without, new[] { ("tma-clamp", with) }, heldOut.Tokens,
            new PerplexityOptions { Context = heldOut.Context, BatchSize = optimize.BatchSize }, report, ct)[0];
        double increase = result.PerplexityIncrease;
        return new ClampGateRecord(optimize.MaxPplIncrease, result.ReferencePerplexity, result.Perplexity, increase, increase <= optimize.MaxPplIncrease);
    }

    private static TransformEntry Entry(TransformRecord r, string status) => new(
        r.Name, r.Exact, status,
        r.Parameters.Select(p => new TransformParameterRecord(p.Name, p.Value)).ToArray(),
        r.Touched.Select(t => new TransformTouchRecord(t.Layer, t.Target, t.Channels, t.MinScale, t.MaxScale)).ToArray());

    private sealed class EvalReport(Action<EvalProgress> report) : IProgress<EvalProgress>
    {
        public void Report(EvalProgress value) => report(value);
    }
}
