using System.Diagnostics;
using Optimizer.Engine.Calibration;
using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Manifest;
using Optimizer.Engine.Model;
using Optimizer.Engine.Pipeline;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Quantization.Imatrix;
using Optimizer.LlamaCpp;

namespace Optimizer.MitigationStudy;

/// <summary>
/// Runs the study on one model: for each recipe, <see cref="OptimizePipeline.Run"/> with its defaults (mitigations
/// <c>all</c> not explicit, search <c>full</c>) and the study's calibration and evaluation settings writes the shipped
/// file; the stock file (original weights, no importance matrix) and the imatrix file (original weights, the importance
/// matrix of an analysis of the same calibration text, as the pipeline collects it) are exported with
/// <see cref="LlamaGgufExporter"/>; llama.cpp judges the three against llama.cpp running the F32 file of the original
/// (<see cref="LlamaCppKlDivergence"/>) on the pipeline's own evaluation tokens and windows.
/// </summary>
public static class StudyRunner
{
    /// <summary>Measures <paramref name="model"/>; files go to <paramref name="work"/> and are deleted afterwards.</summary>
    public static StudyResult Run(StudyModel model, StudySettings settings, IReadOnlyList<string> recipes, string work, Action<string> log, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        string id = model.Label.Replace(' ', '-');
        OptimizeOptions Options(string recipe) => new()
        {
            Model = model.Folder,
            Output = Path.Combine(work, id + "." + recipe),
            Quant = recipe,
            Calibration = model.Calibration,
            EvalText = model.EvalText,
            EvalTokens = model.EvalText is null ? settings.SyntheticEvalTokens : settings.FixtureEvalTokens,
            CalibrationTokens = settings.CalibrationTokens,
            SequenceLength = settings.SequenceLength,
            Seed = settings.Seed,
            BatchSize = settings.BatchSize,
            OutputName = id,
            ToolVersion = "mitigation-study",
        };
        var baseOptions = Options(recipes[0]);
        baseOptions.Validate();
        var modelOptions = new ModelOptions { StreamLayers = true };
        using var folder = ModelFolder.Open(model.Folder);
        ModelConfig config = folder.Config;

        // The pipeline's own analysis (default options: absolute MA mode), with the importance matrix collected.
        var analysisOptions = new AnalysisOptions { BatchSize = settings.BatchSize, Model = modelOptions, ImportanceMatrix = true };
        var calibration = new CalibrationOptions
        {
            Paths = model.Calibration, SequenceLength = settings.SequenceLength, Tokens = settings.CalibrationTokens, Seed = settings.Seed,
        };
        OutlierAnalysisResult analysis = OutlierAnalysis.Run(folder, calibration, analysisOptions, new ChannelOutlierOptions(), baseOptions.ToolVersion, null, ct);
        var ma = analysis.Analysis.MassiveActivations;
        string findings = $"{ma.Occurrences.Count} MA ({ma.Births.Count} birth), {analysis.Channels.Outliers.Count} CO, {analysis.Channels.TriggeringChannels.Count} OTC";
        ImportanceMatrix importance = ImportanceCollection.FromAnalysis(analysis.Analysis);
        var text = EvaluationText.Build(folder, baseOptions, modelOptions, settings.SequenceLength - 1, null, watch, ct);
        log($"  analysis: {findings}; {text.Tokens.Count} evaluation tokens ({watch.Elapsed.TotalSeconds:F0} s)");

        int? bos = config.BosTokenId;
        uint contextSize = (uint)(text.Context + 1);
        JudgedFile Judge(LlamaCppKlDivergence reference, string path)
        {
            using var session = new LlamaCppSession(path, contextSize);
            return new JudgedFile(reference.Judge(session, ct), new FileInfo(path).Length);
        }
        string f32Path = Path.Combine(work, id + ".F32.gguf");
        LlamaGgufExporter.Export(folder, folder.Weights, QuantizationRecipe.Parse("F32"), f32Path, null, ct);
        LlamaCppKlDivergence reference;
        using (var session = new LlamaCppSession(f32Path, contextSize)) reference = LlamaCppKlDivergence.Collect(session, text.Tokens, text.Context, bos, ct);
        File.Delete(f32Path);
        log($"  llama.cpp F32: PPL {reference.Reference.Perplexity:F4} ({watch.Elapsed.TotalSeconds:F0} s)");

        var results = new List<RecipeResult>();
        foreach (string recipe in recipes)
        {
            var options = Options(recipe);
            var stages = new StageClock();
            var run = Stopwatch.StartNew();
            OptimizeResult result = OptimizePipeline.Run(options, stages, ct);
            run.Stop();
            if (!result.Gate.Passed) throw new InvalidOperationException($"{model.Label} {recipe}: the quality gate failed: {result.Gate.Reason}");
            string winner = result.Selection!.Selected;
            string shippedPath = result.Outputs[0].Path;
            var kept = (result.Manifest?.Transforms?.Applied ?? Array.Empty<TransformEntry>())
                .Where(e => e.Status is TransformEntry.Kept or TransformEntry.NotSelected)
                .Select(e => e.Touched.Count == 0 ? $"{e.Name}: nothing"
                    : $"{e.Name}: {e.Touched.Count} target(s) in {e.Touched.Select(t => t.Layer).Distinct().Count()} layer(s), {e.Touched.Sum(t => t.Channels.Count)} channel(s)")
                .ToArray();
            log($"  {recipe}: pipeline wrote '{winner}' in {run.Elapsed.TotalSeconds:F0} s (compensating {Seconds(stages.Duration("compensating"))}, "
                + $"compensating-mitigated {Seconds(stages.Duration("compensating-mitigated"))})");
            JudgedFile shipped = Judge(reference, shippedPath);
            Directory.Delete(options.Output, recursive: true);

            var q = QuantizationRecipe.Parse(recipe);
            string stockPath = Path.Combine(work, $"{id}.{recipe}.stock.gguf"), imatrixPath = Path.Combine(work, $"{id}.{recipe}.imatrix.gguf");
            LlamaGgufExporter.Export(folder, folder.Weights, q, stockPath, null, ct);
            JudgedFile stock = Judge(reference, stockPath);
            File.Delete(stockPath);
            LlamaGgufExporter.Export(folder, folder.Weights, q, imatrixPath, null, ct, importance);
            JudgedFile withImatrix = Judge(reference, imatrixPath);
            File.Delete(imatrixPath);
            log($"  {recipe}: llama.cpp KL stock {stock.Kl:G4}, imatrix {withImatrix.Kl:G4}, shipped {shipped.Kl:G4} ({watch.Elapsed.TotalSeconds:F0} s)");
            results.Add(new RecipeResult(recipe, stock, withImatrix, shipped, winner, result.Selection.Reason, result.Variants, kept, run.Elapsed,
                stages.Duration("compensating"), stages.Duration("compensating-mitigated")));
        }
        return new StudyResult(model, findings, reference.Reference.Perplexity, reference.Reference.TokensScored, text.Tokens.Count, text.Context, results);
    }

    private static string Seconds(TimeSpan? t) => t is { } v ? $"{v.TotalSeconds:F1} s" : "not observed";

    /// <summary>Per stage: the elapsed time of its first and last progress report (the pipeline reports synchronously).</summary>
    private sealed class StageClock : IProgress<OptimizeProgress>
    {
        private readonly Dictionary<string, (TimeSpan First, TimeSpan Last)> _stages = new(StringComparer.Ordinal);

        public void Report(OptimizeProgress value)
        {
            _stages[value.Stage] = _stages.TryGetValue(value.Stage, out var s) ? (s.First, value.Elapsed) : (value.Elapsed, value.Elapsed);
        }

        /// <summary>From the stage's first report (0 of N) to its last (N of N), or null when it never reported.</summary>
        public TimeSpan? Duration(string stage) => _stages.TryGetValue(stage, out var s) ? s.Last - s.First : null;
    }
}
