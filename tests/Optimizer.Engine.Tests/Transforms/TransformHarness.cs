using System.Text;
using Optimizer.Engine.Calibration;
using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Engine.Tests.Fixtures;
using Optimizer.Engine.Transforms;

namespace Optimizer.Engine.Tests.Transforms;

/// <summary>The analysis a plan is made from: the MA analysis and the channel-outlier report of one calibration run.</summary>
internal sealed record TransformInput(ActivationAnalysis Analysis, ChannelOutlierReport Channels);

/// <summary>
/// Runs the diagnostics the planners read (MA analysis, channel magnitudes, channel-outlier report) on a model folder
/// or a weights view of it, with a fixed text calibration, and measures logit deltas.
/// </summary>
internal static class TransformHarness
{
    /// <summary>Scale-free MA thresholds (the trained fixture's MAs sit far below the absolute 100).</summary>
    public static readonly AnalysisOptions ScaleFree = new() { MassiveActivations = new MassiveActivationOptions { Mode = MassiveActivationMode.ScaleFree } };

    /// <summary>Prose written for these tests (not from the fixture's training corpus).</summary>
    public const string Prose =
        "The carriage was late, and the whole party stood in the hall a quarter of an hour longer than anybody wished, " +
        "talking of the roads, the weather and the likelihood of rain before evening. Miss Thornton declared that she " +
        "had never seen the lanes so deep in mud; her brother, who had ridden over them that morning, assured her that " +
        "they were worse than she supposed, which was no comfort to anyone. At last the wheels were heard, and every " +
        "conversation ended at once, as if the sound had been a signal agreed upon long before.";

    /// <summary>A text calibration over <see cref="Prose"/> (written into <paramref name="folder"/>): <paramref name="sequences"/> × <paramref name="length"/> tokens, BOS first.</summary>
    public static CalibrationOptions Calibration(string folder, int sequences = 4, int length = 48)
    {
        string path = Path.Combine(folder, "transform-calibration.txt");
        if (!File.Exists(path)) File.WriteAllText(path, Prose, new UTF8Encoding(false));
        return new CalibrationOptions { Paths = new[] { path }, SequenceLength = length, Tokens = sequences * length };
    }

    /// <summary>Analyses <paramref name="model"/> with a new calibration set.</summary>
    public static TransformInput Analyze(ModelFolder model, CalibrationOptions calibration, AnalysisOptions? options = null)
    {
        options ??= new AnalysisOptions();
        var analysis = AnalysisRunner.Run(model, calibration, options);
        return new TransformInput(analysis, Channels(model, analysis, options));
    }

    /// <summary>Analyses <paramref name="model"/> (e.g. a transformed view) on an existing calibration set.</summary>
    public static TransformInput Analyze(ModelFolder model, CalibrationSet calibration, AnalysisOptions? options = null)
    {
        options ??= new AnalysisOptions();
        var analysis = AnalysisRunner.Run(model, calibration, options);
        return new TransformInput(analysis, Channels(model, analysis, options));
    }

    private static ChannelOutlierReport Channels(ModelFolder model, ActivationAnalysis analysis, AnalysisOptions options)
    {
        var channelOptions = new ChannelOutlierOptions();
        var magnitudes = ChannelMagnitudes.For(channelOptions);
        var set = analysis.Calibration;
        using (var llama = LlamaModel.Create(model.Config, model.Weights, options.Model))
        {
            for (int start = 0; start < set.Sequences.Count; start += options.BatchSize)
            {
                var batch = set.Sequences.Skip(start).Take(options.BatchSize).ToArray();
                using (llama.Forward(batch, magnitudes, (long)start * set.SequenceLength)) { }
            }
        }
        return ChannelOutlierAnalyzer.Analyze(model.Config, model.Weights, analysis.Statistics, magnitudes, channelOptions);
    }

    /// <summary>Plans <paramref name="options"/> for <paramref name="input"/>.</summary>
    public static TransformPlan Plan(TransformInput input, TransformOptions options) => TransformPlanner.Plan(input.Analysis, input.Channels, options);

    /// <summary>max |Δlogit| (and relative) between the original weights and the plan applied, on the calibration sequences.</summary>
    public static LogitDeltaResult Delta(ModelFolder model, TransformPlan plan, IReadOnlyList<int[]> sequences)
    {
        using var view = new TransformedWeights(model.Weights, model.Config, plan);
        return LogitDelta.Measure(model.Config, model.Weights, view, sequences, new ModelOptions());
    }
}
