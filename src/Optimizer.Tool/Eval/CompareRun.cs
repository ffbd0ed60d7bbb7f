using System.Diagnostics;
using Optimizer.Engine;
using Optimizer.Engine.Calibration;
using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Tool.Cli;

namespace Optimizer.Tool.Eval;

/// <summary>
/// The comparing form of <c>eval</c>: builds the candidate models from <see cref="CompareSettings"/> (the other model or
/// the model itself, its weights through <see cref="FakeQuantizedWeights"/>, each activation scheme), calibrates static
/// activation ranges on the candidate's float model, and runs <see cref="ModelComparison"/> with the model as reference.
/// </summary>
public static class CompareRun
{
    /// <summary>What the text and windows are, decided by the command before the run.</summary>
    public sealed record TextPlan(string TextFile, int TextTokens, int[] Tokens, int Window, int Batch, bool PrefixBos, int Windows, long Scored);

    /// <summary>Runs the comparison and returns its report.</summary>
    public static CompareReport Run(ToolContext context, ModelFolder folder, string modelName, string fullText, TextPlan plan,
        string device, CompareSettings settings)
    {
        var watch = Stopwatch.StartNew();
        ModelFolder? other = settings.ComparePath is null ? null : ModelFolder.Open(settings.ComparePath);
        var owned = new List<IDisposable>();
        try
        {
            if (other is not null) CheckCompatible(folder, other, fullText, settings.ComparePath!);
            ModelFolder candidateFolder = other ?? folder;
            ITensorSource weights = candidateFolder.Weights;
            if (settings.Weights is WeightScheme scheme)
                weights = Own(owned, new FakeQuantizedWeights(weights, scheme.RoundTrip(candidateFolder.Config)));

            var options = new ModelOptions { Device = device };
            LlamaModel reference = Own(owned, LlamaModel.Create(folder.Config, folder.Weights, options));
            context.ThrowIfCancelled();
            // The candidate's float model: the reference itself when nothing but activations changes.
            bool sameWeights = other is null && settings.Weights is null;
            LlamaModel? floatCandidate = sameWeights ? reference : null;
            LlamaModel FloatCandidate() => floatCandidate ??= Own(owned, LlamaModel.Create(candidateFolder.Config, weights, options));

            string? calibrationText = null;
            StaticActivationScales? scales = null;
            if (settings.NeedsCalibration)
            {
                CalibrationSet set = settings.Calibration.Paths.Count > 0
                    ? TextCalibration.Build(candidateFolder.Tokenizer, settings.Calibration)
                    : SelfSampler.Sample(reference, folder.Config.BosTokenId, settings.Calibration, null, context.Cancellation);
                calibrationText = $"{Units.Count(set.TokenCount)} tokens in {Units.Count(set.Sequences.Count)} sequence(s) of {set.SequenceLength}, "
                    + (set.Source.Kind == CalibrationSourceKind.Text ? $"text from {set.Source.Files.Count} file(s)" : $"self-sampled (seed {set.Source.Seed})");
                context.Info($"eval: calibrating static activation ranges on {calibrationText}");
                scales = StaticActivationScales.Calibrate(FloatCandidate(), set.Sequences, 8, context.Cancellation);
            }

            string prefix = string.Join("+", new[] { other is null ? null : NameOf(other), settings.Weights?.Name }.Where(p => p is not null));
            var candidates = new List<(string Name, LlamaModel Model)>();
            if (settings.Activations.Count == 0) candidates.Add((prefix, FloatCandidate()));
            foreach (ActivationScheme a in settings.Activations)
            {
                var quantization = new ActivationQuantization(a.Bits, a.Mode, a.Mode == ActivationQuantMode.PerTensorStatic ? scales : null);
                LlamaModel model = Own(owned, LlamaModel.Create(candidateFolder.Config, weights, options with { ActivationQuantization = quantization }));
                candidates.Add((prefix.Length == 0 ? a.Name : prefix + "+" + a.Name, model));
                context.ThrowIfCancelled();
            }

            context.Info($"eval: {modelName} vs {string.Join(", ", candidates.Select(c => c.Name))}: {Units.Count(plan.Tokens.Length)} tokens in "
                + $"{Units.Count(plan.Windows)} window(s) of up to {Units.Count(plan.Window)}, batch {plan.Batch}, device {reference.DeviceName}");
            IReadOnlyList<ComparisonResult> results;
            using (var progress = context.StartProgress("eval", "tokens", plan.Scored))
            {
                var perplexity = new PerplexityOptions { Context = plan.Window, BatchSize = plan.Batch, PrefixBos = plan.PrefixBos };
                results = ModelComparison.Compare(reference, candidates, plan.Tokens, perplexity, new ProgressBridge(progress, plan.Scored), context.Cancellation);
                progress.Complete();
            }
            return new CompareReport(modelName, other is null ? null : NameOf(other), plan.TextFile, plan.TextTokens, plan.Tokens.Length,
                plan.Windows, plan.Window, plan.Batch, reference.DeviceName, calibrationText, results, watch.Elapsed);
        }
        finally
        {
            for (int i = owned.Count - 1; i >= 0; i--) owned[i].Dispose();
            other?.Dispose();
        }
    }

    /// <summary>The name shown for a model: its folder's (or file's) name.</summary>
    public static string NameOf(ModelFolder folder) =>
        Path.GetFileName(folder.Path.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));

    /// <summary>The other model must read the text as the same token ids (same vocabulary size, BOS and encoding).</summary>
    private static void CheckCompatible(ModelFolder model, ModelFolder other, string text, string otherPath)
    {
        if (other.Config.VocabSize != model.Config.VocabSize)
            throw new OptimizerException(ErrorCodes.EvalCompareIncompatible,
                $"The compared model has a vocabulary of {other.Config.VocabSize} tokens; the model has {model.Config.VocabSize}.", otherPath);
        if (other.Config.BosTokenId != model.Config.BosTokenId)
            throw new OptimizerException(ErrorCodes.EvalCompareIncompatible,
                $"The compared model's BOS id is {other.Config.BosTokenId?.ToString() ?? "none"}; the model's is {model.Config.BosTokenId?.ToString() ?? "none"}.", otherPath);
        int[] mine = model.Tokenizer.Encode(text, addBos: false), theirs = other.Tokenizer.Encode(text, addBos: false);
        if (!mine.AsSpan().SequenceEqual(theirs))
            throw new OptimizerException(ErrorCodes.EvalCompareIncompatible,
                "The compared model's tokenizer encodes the text differently, so the two models cannot be scored on the same tokens.", otherPath);
    }

    private static T Own<T>(List<IDisposable> owned, T item) where T : IDisposable
    {
        owned.Add(item);
        return item;
    }
}
