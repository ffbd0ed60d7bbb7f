using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Diagnostics.MassiveActivations;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Engine.Transforms;
using Xunit.Abstractions;

namespace Optimizer.Engine.Tests.Transforms;

/// <summary>
/// What each exact transform does to the diagnostics: the analysis is run again on the transformed view with the same
/// calibration tokens and compared with the original findings.
/// </summary>
[Collection(TransformCollection.Name)]
public sealed class DiagnosticEffectTests(TransformFixtures fixtures, ITestOutputHelper output)
{
    [Theory]
    [InlineData("gamma-h64-s1")]
    [InlineData("all-h128-s2")]
    public void Gamma_flattening_removes_every_gamma_caused_channel_outlier(string preset)
    {
        var (model, input) = fixtures.Preset(preset);
        var before = input.Channels.Outliers.Where(o => o.Cause == ChannelOutlierCause.Gamma).ToList();
        var plan = TransformHarness.Plan(input, TransformOptions.Parse("norm"));

        var after = Rerun(model, input, plan, null);

        var remaining = after.Channels.Outliers.Where(o => o.Cause == ChannelOutlierCause.Gamma).ToList();
        output.WriteLine($"{preset}: γ-caused COs {before.Count} -> {remaining.Count}; all COs {input.Channels.Outliers.Count} -> {after.Channels.Outliers.Count}");
        Assert.NotEmpty(before);
        Assert.Empty(remaining);
        foreach (var co in before)
            Assert.DoesNotContain(after.Channels.Outliers, o => o.Layer == co.Layer && o.Site == co.Site && o.Channel == co.Channel);
    }

    [Theory]
    [InlineData("ma-h64-s1")]
    [InlineData("all-h128-s2")]
    public void Tma_smoothing_removes_the_y6_massive_activations_while_the_residual_massive_activation_stays(string preset)
    {
        var (model, input) = fixtures.Preset(preset);
        var report = input.Analysis.MassiveActivations;
        var plan = TransformHarness.Plan(input, TransformOptions.Parse("tma"));

        var after = Rerun(model, input, plan, null).Analysis.MassiveActivations;

        int y6Before = report.Occurrences.Count(m => m.Site == ProbeSite.Y6), y6After = after.Occurrences.Count(m => m.Site == ProbeSite.Y6);
        int residualBefore = report.Occurrences.Count(m => m.Site == ProbeSite.Y8), residualAfter = after.Occurrences.Count(m => m.Site == ProbeSite.Y8);
        output.WriteLine($"{preset}: y6 MAs {y6Before} -> {y6After}; y8 MAs {residualBefore} -> {residualAfter}; births {report.Births.Count} -> {after.Births.Count}");
        Assert.True(y6Before > 0);
        Assert.Equal(0, y6After);
        Assert.True(residualBefore > 0);
        Assert.Equal(residualBefore, residualAfter);
        var y8 = report.Occurrences.Where(m => m.Site == ProbeSite.Y8).Select(m => (m.Layer, m.TokenIndex, m.Channel)).ToHashSet();
        Assert.Equal(y8, after.Occurrences.Where(m => m.Site == ProbeSite.Y8).Select(m => (m.Layer, m.TokenIndex, m.Channel)).ToHashSet());
    }

    [Theory]
    [InlineData("otc-h64-s1")]
    [InlineData("all-h128-s2")]
    public void Otc_balancing_reduces_the_planted_query_channel_outliers_without_creating_key_outliers(string preset)
    {
        var (model, input) = fixtures.Preset(preset);
        var before = input.Channels.Outliers.Where(o => o.Site == ProbeSite.AttnQ).ToList();
        var plan = TransformHarness.Plan(input, TransformOptions.Parse("otc"));

        var after = Rerun(model, input, plan, null).Channels;

        var remaining = after.Outliers.Where(o => o.Site == ProbeSite.AttnQ).ToList();
        output.WriteLine($"{preset}: attn.q COs {before.Count} (ratios {string.Join(", ", before.Select(o => o.Ratio.ToString("F1")))}) -> {remaining.Count} " +
            $"(ratios {string.Join(", ", remaining.Select(o => o.Ratio.ToString("F1")))}); attn.k COs {input.Channels.Outliers.Count(o => o.Site == ProbeSite.AttnK)} -> {after.Outliers.Count(o => o.Site == ProbeSite.AttnK)}; " +
            $"reading-A OTC rows {input.Channels.TriggeringChannels.Count(o => o.Reading == OtcReading.Row)} -> {after.TriggeringChannels.Count(o => o.Reading == OtcReading.Row)}");
        // r = sqrt(Q/K) halves the outlier's log-ratio to k: the milder planted rows fall below co.ratio, the strongest
        // stay flagged with a smaller ratio.
        Assert.NotEmpty(before);
        Assert.True(remaining.Count < before.Count);
        foreach (var co in remaining)
        {
            var original = Assert.Single(before, o => o.Layer == co.Layer && o.Channel == co.Channel);
            Assert.True(co.Ratio < original.Ratio, $"attn.q channel {co.Channel}: {original.Ratio} -> {co.Ratio}");
        }
        Assert.True(after.TriggeringChannels.Count(o => o.Reading == OtcReading.Row) < input.Channels.TriggeringChannels.Count(o => o.Reading == OtcReading.Row));
        Assert.DoesNotContain(after.Outliers, o => o.Site == ProbeSite.AttnK);
    }

    /// <summary>Runs the analysis again on <paramref name="model"/> seen through the plan, with the same calibration tokens.</summary>
    internal static TransformInput Rerun(ModelFolder model, TransformInput input, TransformPlan plan, Optimizer.Engine.Diagnostics.AnalysisOptions? options)
    {
        using var view = new TransformedWeights(model.Weights, model.Config, plan);
        using var transformed = model.WithWeights(view);
        return TransformHarness.Analyze(transformed, input.Analysis.Calibration, options ?? input.Analysis.Options);
    }
}
