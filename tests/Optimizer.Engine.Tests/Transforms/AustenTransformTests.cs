using Optimizer.Engine.Diagnostics.MassiveActivations;
using Optimizer.Engine.Model;
using Optimizer.Engine.Transforms;
using Xunit.Abstractions;

namespace Optimizer.Engine.Tests.Transforms;

/// <summary>
/// The transforms on the trained fixture (tests/fixtures/austen-byte-llama), analysed with scale-free MA thresholds
/// (absolute thresholds find no MA in it): exactness of every exact transform, and what they do to its findings.
/// </summary>
[Collection(TransformCollection.Name)]
public sealed class AustenTransformTests(TransformFixtures fixtures, ITestOutputHelper output)
{
    [Theory]
    [InlineData("norm")]
    [InlineData("smooth")]
    [InlineData("otc")]
    [InlineData("tma")]
    [InlineData("norm,smooth,otc,tma")]
    public void Exact_transform_keeps_the_logits_of_the_trained_fixture(string list)
    {
        var (model, input) = fixtures.Austen();
        var plan = TransformHarness.Plan(input, TransformOptions.Parse(list));

        var delta = TransformHarness.Delta(model, plan, input.Analysis.Calibration.Sequences.Take(2).ToArray());

        output.WriteLine($"austen [{list}]: max |Δlogit| {delta.MaxAbs:G3} (relative {delta.Relative:G3}, max |logit| {delta.ReferenceMaxAbs:G4}); " +
            string.Join("; ", plan.Records.Select(r => $"{r.Name}: {r.ChannelCount} channels in layers [{string.Join(",", r.Layers)}], scales {r.MinScale:G4}..{r.MaxScale:G4}")));
        Assert.True(plan.IsExact);
        Assert.InRange(delta.MaxAbs, 0, ExactTransformTests.Tolerance);
    }

    [Fact]
    public void Tma_smoothing_removes_the_flagged_y6_tmas_of_the_trained_fixture_and_the_lowered_scale_free_threshold_admits_runners_up()
    {
        var (model, input) = fixtures.Austen();
        var before = input.Analysis.MassiveActivations.Occurrences.Where(m => m.Site == ProbeSite.Y6).ToList();
        var plan = TransformHarness.Plan(input, TransformOptions.Parse("tma"));

        var after = DiagnosticEffectTests.Rerun(model, input, plan, null).Analysis.MassiveActivations;

        var remaining = after.Occurrences.Where(m => m.Site == ProbeSite.Y6).ToList();
        output.WriteLine($"austen: y6 MAs {before.Count} ({string.Join(", ", before.Select(m => $"L{m.Layer} n{m.Channel} {m.Value:F1} {MassiveActivationKinds.Id(m.Kind)}"))}) -> {remaining.Count} ({string.Join(", ", remaining.Select(m => $"L{m.Layer} n{m.Channel} {m.Value:F1} {MassiveActivationKinds.Id(m.Kind)}"))}); " +
            $"y6 thresholds L1 {Threshold(input.Analysis.MassiveActivations, 1):F2} -> {Threshold(after, 1):F2}, L2 {Threshold(input.Analysis.MassiveActivations, 2):F2} -> {Threshold(after, 2):F2}; " +
            $"all MAs {input.Analysis.MassiveActivations.Occurrences.Count} -> {after.Occurrences.Count}; y6 scales {plan.Records[0].MinScale:G4}..{plan.Records[0].MaxScale:G4}");
        Assert.Contains(before, m => m.Kind == MassiveActivationKind.Tma);
        var flagged = before.Select(m => (m.Layer, m.Channel)).ToHashSet();
        Assert.DoesNotContain(remaining, m => flagged.Contains((m.Layer, m.Channel)));
        Assert.True(remaining.Count < before.Count);
        // The scale-free magnitude threshold follows the site's per-token maxima, which the smoothed neurons no longer
        // dominate; what passes it now are neurons that sat just below it before, smaller than every flagged TMA.
        Assert.All(remaining, m => Assert.True(Math.Abs(m.Value) < before.Min(b => Math.Abs(b.Value)), $"L{m.Layer} n{m.Channel} {m.Value}"));
        Assert.True(Threshold(after, 1) < Threshold(input.Analysis.MassiveActivations, 1));
    }

    private static double Threshold(MassiveActivationReport report, int layer) =>
        report.Thresholds.Single(t => t.Layer == layer && t.Site == ProbeSite.Y6).Magnitude;

    [Fact]
    public void Otc_balancing_reduces_the_key_channel_outliers_of_the_trained_fixture()
    {
        var (model, input) = fixtures.Austen();
        var before = input.Channels.Outliers.Where(o => o.Site == ProbeSite.AttnK).ToList();
        var plan = TransformHarness.Plan(input, TransformOptions.Parse("otc"));

        var after = DiagnosticEffectTests.Rerun(model, input, plan, null).Channels;

        var remaining = after.Outliers.Where(o => o.Site == ProbeSite.AttnK).ToList();
        output.WriteLine($"austen: attn.k COs {before.Count} ({string.Join(", ", before.Select(o => $"L{o.Layer} c{o.Channel} ×{o.Ratio:F2}"))}) -> {remaining.Count} " +
            $"({string.Join(", ", remaining.Select(o => $"L{o.Layer} c{o.Channel} ×{o.Ratio:F2}"))}); attn.q COs {input.Channels.Outliers.Count(o => o.Site == ProbeSite.AttnQ)} -> {after.Outliers.Count(o => o.Site == ProbeSite.AttnQ)}; " +
            $"r {plan.Records[0].MinScale:G4}..{plan.Records[0].MaxScale:G4}");
        Assert.NotEmpty(before);
        Assert.Empty(remaining);
    }
}
