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
using Optimizer.Engine.Transforms;
using Optimizer.LlamaCpp;

namespace Optimizer.MitigationStudy;

/// <summary>
/// Runs the study on one model with the <c>optimize</c> pipeline's own stages: <see cref="OutlierAnalysis"/> (with the
/// model's massive-activation mode), <see cref="EvaluationText"/>, <see cref="TransformStage"/> (exact transforms
/// verified, clamp gated), <see cref="VariantEvaluation"/> (W8A8 static scales calibrated per variant on its own
/// weights), then exports the original (F32, Q4_0) and the mitigated weights (Q4_0) with <see cref="LlamaGgufExporter"/>
/// and scores them with llama.cpp on the evaluation tokens with the engine's windows.
/// </summary>
public static class StudyRunner
{
    /// <summary>Measures <paramref name="model"/>; GGUF files go to <paramref name="work"/> and are deleted afterwards.</summary>
    public static StudyResult Run(StudyModel model, StudySettings settings, string work, Action<string> log, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        var options = new OptimizeOptions
        {
            Model = model.Folder,
            Output = work,
            Quant = "Q4_0",
            Mitigations = settings.Mitigations,
            MaxPplIncrease = settings.MaxPplIncrease,
            Calibration = model.Calibration,
            EvalText = model.EvalText,
            EvalTokens = model.EvalText is null ? settings.SyntheticEvalTokens : settings.FixtureEvalTokens,
            CalibrationTokens = settings.CalibrationTokens,
            SequenceLength = settings.SequenceLength,
            Seed = settings.Seed,
            BatchSize = settings.BatchSize,
            OutputName = model.Label,
            ToolVersion = "mitigation-study",
        };
        options.Validate();
        var transformOptions = new TransformOptions { Mitigations = Mitigations.Parse(settings.Mitigations) };
        var modelOptions = new ModelOptions();
        using var folder = ModelFolder.Open(model.Folder);
        ModelConfig config = folder.Config;

        var analysisOptions = new AnalysisOptions
        {
            BatchSize = settings.BatchSize, Model = modelOptions,
            MassiveActivations = new MassiveActivationOptions { Mode = model.MaMode },
        };
        var calibration = new CalibrationOptions
        {
            Paths = model.Calibration, SequenceLength = settings.SequenceLength, Tokens = settings.CalibrationTokens, Seed = settings.Seed,
        };
        OutlierAnalysisResult analysis = OutlierAnalysis.Run(folder, calibration, analysisOptions, new ChannelOutlierOptions(), options.ToolVersion, null, ct);
        var ma = analysis.Analysis.MassiveActivations;
        string findings = $"{ma.Occurrences.Count} MA ({ma.Births.Count} birth), {analysis.Channels.Outliers.Count} CO, {analysis.Channels.TriggeringChannels.Count} OTC";
        log($"  analysis ({model.MaModeId}): {findings} ({watch.Elapsed.TotalSeconds:F0} s)");
        var text = EvaluationText.Build(folder, options, modelOptions, settings.SequenceLength - 1, null, watch, ct);

        using var transforms = TransformStage.Run(analysis, transformOptions, options, text, modelOptions, null, watch, ct);
        var kept = transforms.Record.Applied.Where(e => e.Status == TransformEntry.Kept)
            .Select(e => e.Touched.Count == 0 ? $"{e.Name}: nothing"
                : $"{e.Name}: {e.Touched.Count} target(s) in {e.Touched.Select(t => t.Layer).Distinct().Count()} layer(s), {e.Touched.Sum(t => t.Channels.Count)} channel(s)")
            .ToArray();
        string clamp = transforms.Record.ClampGate is { } gate
            ? $"{(gate.Kept ? "kept" : "rolled back")} (+{gate.Increase * 100:F3}% held-out PPL, limit {gate.Limit * 100:F1}%)"
            : "not applicable (nothing to clamp)";
        log($"  transforms kept: {(kept.Length == 0 ? "none" : string.Join("; ", kept))}; clamp {clamp} ({watch.Elapsed.TotalSeconds:F0} s)");

        var q4 = QuantizationRecipe.Parse("Q4_0");
        IReadOnlyList<VariantResult> variants = VariantEvaluation.Run(config, folder.Weights, transforms.Weights, transforms.Mitigated,
            new GgufRoundTrip(q4, config), "Q4_0", analysis.Analysis.Calibration, text, modelOptions, settings.BatchSize,
            VariantEvaluation.CandidateCount, null, watch, ct);
        log($"  engine variants scored ({watch.Elapsed.TotalSeconds:F0} s)");

        int? bos = config.BosTokenId;
        (double Ppl, long Tokens) Judge(ITensorSource weights, QuantizationRecipe recipe, string name)
        {
            string path = Path.Combine(work, $"{model.Label}.{name}.gguf");
            LlamaGgufExporter.Export(folder, weights, recipe, path, null, ct);
            try
            {
                using var session = new LlamaCppSession(path, (uint)(text.Context + 1));
                var result = LlamaCppPerplexity.Evaluate(session, text.Tokens, text.Context, bos, ct);
                return (result.Perplexity, result.TokensScored);
            }
            finally
            {
                File.Delete(path);
            }
        }
        var f32 = Judge(folder.Weights, QuantizationRecipe.Parse("F32"), "F32");
        var plain = Judge(folder.Weights, q4, "Q4_0");
        var mitigated = Judge(transforms.Weights, q4, "Q4_0-mitigated");
        log($"  llama.cpp scored ({watch.Elapsed.TotalSeconds:F0} s)");
        return new StudyResult(model, findings, kept, clamp, variants, f32.Ppl, plain.Ppl, mitigated.Ppl, f32.Tokens, text.Tokens.Count, text.Context);
    }
}
