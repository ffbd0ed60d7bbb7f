using System.Text;
using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Engine.Tests.Fixtures;
using Optimizer.Engine.Tests.Model;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Diagnostics.ChannelOutliers;

/// <summary>
/// Runs a small deterministic calibration (4 sequences of 48 tokens: BOS, then bytes of English prose) through a
/// synthetic model held in memory, with the probes the channel-outlier analysis needs, and analyzes it.
/// </summary>
internal static class ChannelOutlierHarness
{
    public const int Sequences = 4;
    public const int SequenceLength = 48;

    /// <summary>The calibration batch: sequence s is BOS followed by bytes s·47 … s·47 + 46 of the text.</summary>
    public static int[][] Calibration()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(CalibrationTokens.Text);
        var batch = new int[Sequences][];
        for (int s = 0; s < Sequences; s++)
        {
            batch[s] = new int[SequenceLength];
            batch[s][0] = ByteLevelVocabulary.BosId;
            for (int t = 1; t < SequenceLength; t++) batch[s][t] = bytes[s * (SequenceLength - 1) + t - 1];
        }
        return batch;
    }

    /// <summary>The model's stored tensors as an in-memory source.</summary>
    public static InMemoryTensorSource Source(SyntheticModel model)
    {
        var source = new InMemoryTensorSource();
        foreach (var tensor in model.Tensors) source.Add(tensor.Name, tensor.DType, tensor.Shape, tensor.Values);
        return source;
    }

    /// <summary>Calibrates and analyzes <paramref name="model"/>.</summary>
    public static (ChannelOutlierReport Report, ActivationStatistics Statistics, ChannelMagnitudes Magnitudes) Analyze(
        SyntheticModel model, ChannelOutlierOptions? options = null)
    {
        using var source = Source(model);
        return Analyze(model.Config, source, options);
    }

    /// <summary>Calibrates and analyzes the model in <paramref name="weights"/>.</summary>
    public static (ChannelOutlierReport Report, ActivationStatistics Statistics, ChannelMagnitudes Magnitudes) Analyze(
        ModelConfig config, ITensorSource weights, ChannelOutlierOptions? options = null)
    {
        options ??= new ChannelOutlierOptions();
        var statistics = new ActivationStatistics(new ActivationStatisticsOptions
        {
            TopK = 4,
            Sites = new HashSet<ProbeSite> { ProbeSite.AttnNormIn, ProbeSite.AttnY2, ProbeSite.NormIn, ProbeSite.Y2 },
            TokenMedianSites = new HashSet<ProbeSite>(),
        });
        var magnitudes = ChannelMagnitudes.For(options);
        using (var model = LlamaModel.Create(config, weights, new ModelOptions()))
        using (model.Forward(Calibration(), new CompositeProbe(statistics, magnitudes))) { }
        var report = ChannelOutlierAnalyzer.Analyze(config, weights, statistics, magnitudes, options);
        return (report, statistics, magnitudes);
    }

    /// <summary>A one-line description of a CO for assertion messages.</summary>
    public static string Describe(ChannelOutlier o) =>
        $"layer {o.Layer} {o.SiteId} channel {o.Channel} ratio {o.Ratio:G4} cause {ChannelOutlierCauses.Id(o.Cause)}";

    /// <summary>A one-line description of an OTC for assertion messages.</summary>
    public static string Describe(OutlierTriggeringChannel o) => $"layer {o.Layer} {o.ReadingId} {o.Index} score {o.Score:G4}";
}
