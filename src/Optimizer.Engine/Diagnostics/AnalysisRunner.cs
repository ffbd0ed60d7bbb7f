using System.Diagnostics;
using Optimizer.Engine.Calibration;
using Optimizer.Engine.Diagnostics.MassiveActivations;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics;

/// <summary>
/// Runs the analysis: builds the calibration set (text, or sampled from the model), runs it through
/// <see cref="LlamaModel"/> with <see cref="ActivationStatistics"/> at every site of every layer (per-token medians
/// everywhere), re-measures sites whose kept extreme entries could hide more MAs, and derives the census (D1) and the
/// massive activations with births, kinds, propagation and super weights (D2).
/// </summary>
public static class AnalysisRunner
{
    /// <summary>Builds the calibration set described by <paramref name="calibration"/> and analyses it.</summary>
    public static ActivationAnalysis Run(ModelFolder model, CalibrationOptions calibration, AnalysisOptions options,
        IProgress<AnalysisProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(calibration);
        ArgumentNullException.ThrowIfNull(options);
        calibration.Validate();
        options.Validate();
        var watch = Stopwatch.StartNew();
        using var llama = LlamaModel.Create(model.Config, model.Weights, options.Model);
        CalibrationSet set = calibration.Paths.Count > 0
            ? TextCalibration.Build(model.Tokenizer, calibration)
            : SelfSampler.Sample(llama, model.Tokenizer.BosId, calibration,
                progress is null ? null : new Progress(p => progress.Report(new AnalysisProgress("sampling", p.Done, p.Total, watch.Elapsed))), ct);
        return Analyse(model, llama, set, options, progress, watch, ct);
    }

    /// <summary>Analyses an existing calibration set.</summary>
    public static ActivationAnalysis Run(ModelFolder model, CalibrationSet calibration, AnalysisOptions options,
        IProgress<AnalysisProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(calibration);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var watch = Stopwatch.StartNew();
        using var llama = LlamaModel.Create(model.Config, model.Weights, options.Model);
        return Analyse(model, llama, calibration, options, progress, watch, ct);
    }

    private static ActivationAnalysis Analyse(ModelFolder model, LlamaModel llama, CalibrationSet set, AnalysisOptions options,
        IProgress<AnalysisProgress>? progress, Stopwatch watch, CancellationToken ct)
    {
        var statistics = new ActivationStatistics(new ActivationStatisticsOptions
        {
            TopK = options.StatisticsTopK,
            ChannelMomentSites = options.ImportanceMatrix ? ImportanceCollection.Sites : null,
        });
        RunBatches(llama, set, statistics, options.BatchSize, "calibrating", progress, watch, ct);
        var thresholds = SiteThresholds.Compute(statistics, options.MassiveActivations);
        var warnings = new List<string>();
        var extremes = Remeasure(llama, set, statistics, thresholds, options, warnings, progress, watch, ct);

        ct.ThrowIfCancellationRequested();
        progress?.Report(new AnalysisProgress("diagnosing", 0, 1, watch.Elapsed));
        var census = CensusBuilder.Build(statistics, options.CensusTopK);
        var report = MassiveActivationDetector.Detect(new DetectionInput(model, set, statistics, extremes, thresholds, options.MassiveActivations));
        progress?.Report(new AnalysisProgress("diagnosing", 1, 1, watch.Elapsed));
        return new ActivationAnalysis(model, set, options, statistics, census, report, warnings, llama.DeviceName);
    }

    /// <summary>Runs every calibration sequence through <paramref name="llama"/> in batches, observed by <paramref name="probe"/>.</summary>
    internal static void RunBatches(LlamaModel llama, CalibrationSet set, IActivationProbe probe, int batchSize, string stage,
        IProgress<AnalysisProgress>? progress, Stopwatch watch, CancellationToken ct)
    {
        int total = set.Sequences.Count;
        for (int start = 0; start < total; start += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            int count = Math.Min(batchSize, total - start);
            var batch = new int[count][];
            for (int i = 0; i < count; i++) batch[i] = set.Sequences[start + i];
            using (llama.Forward(batch, probe, (long)start * set.SequenceLength, ct)) { }
            progress?.Report(new AnalysisProgress(stage, start + count, total, watch.Elapsed));
        }
    }

    /// <summary>
    /// The statistics keep the largest entries per site. A site is saturated when its list is full and its smallest
    /// kept entry still passes the magnitude test: more entries above the threshold may exist. Saturated sites are
    /// measured again with a 4× longer list until they are not saturated or the list reaches the configured maximum
    /// (then a warning says so). Returns the longer lists by (layer, site).
    /// </summary>
    private static Dictionary<(int, ProbeSite), IReadOnlyList<ActivationEntry>> Remeasure(LlamaModel llama, CalibrationSet set,
        ActivationStatistics statistics, IReadOnlyDictionary<(int, ProbeSite), SiteThreshold> thresholds, AnalysisOptions options,
        List<string> warnings, IProgress<AnalysisProgress>? progress, Stopwatch watch, CancellationToken ct)
    {
        var extremes = new Dictionary<(int, ProbeSite), IReadOnlyList<ActivationEntry>>();
        var saturated = statistics.Sites.Where(s => IsSaturated(s.Top, s.TopK, thresholds[(s.Layer, s.Site)])).Select(s => (s.Layer, s.Site)).ToList();
        int topK = options.StatisticsTopK;
        while (saturated.Count > 0)
        {
            if (topK >= options.MaxStatisticsTopK)
            {
                foreach (var (layer, site) in saturated)
                    warnings.Add($"Layer {layer} {ProbeSites.Id(site)}: more than {topK} entries pass the MA magnitude test; only the {topK} largest were examined.");
                break;
            }
            topK = (int)Math.Min(options.MaxStatisticsTopK, 4L * topK);
            var again = new ActivationStatistics(new ActivationStatisticsOptions
            {
                TopK = topK,
                Layers = saturated.Select(s => s.Item1).ToHashSet(),
                Sites = saturated.Select(s => s.Item2).ToHashSet(),
                TokenMedianSites = new HashSet<ProbeSite>(),
            });
            RunBatches(llama, set, again, options.BatchSize, "remeasuring", progress, watch, ct);
            var still = new List<(int, ProbeSite)>();
            foreach (var key in saturated)
            {
                var stats = again.Get(key.Item1, key.Item2);
                extremes[key] = stats.Top.ToArray();
                if (IsSaturated(stats.Top, topK, thresholds[key])) still.Add(key);
            }
            saturated = still;
        }
        return extremes;
    }

    private static bool IsSaturated(IReadOnlyList<ActivationEntry> top, int topK, SiteThreshold threshold)
        => top.Count >= topK && threshold.PassesMagnitude(top[^1].Magnitude);

    private sealed class Progress(Action<SamplingProgress> report) : IProgress<SamplingProgress>
    {
        public void Report(SamplingProgress value) => report(value);
    }
}
