using Optimizer.Engine.Quantization;
using Optimizer.Engine.Transforms;
using Xunit.Abstractions;

namespace Optimizer.Engine.Tests.Transforms;

/// <summary>
/// Activation-aware scaling (docs/quantization.md "Activation-aware scaling"): the searched plan is exact, records α per
/// group, never raises a group's output error under its weight-only target, is deterministic, and refuses to be planned
/// with smooth or without a target.
/// </summary>
[Collection(TransformCollection.Name)]
public sealed class AwqPlannerTests(TransformFixtures fixtures, ITestOutputHelper output)
{
    [Fact]
    public void The_searched_plan_is_exact_records_alpha_per_group_and_is_deterministic()
    {
        var (model, input) = fixtures.Preset("ma-h64-s1");
        var options = new TransformOptions { Mitigations = Mitigation.Awq, WeightTarget = new GgufRoundTrip(QuantizationRecipe.Parse("Q4_0"), model.Config) };
        var first = TransformHarness.Plan(input, options);
        var second = TransformHarness.Plan(input, options);
        var awq = first.Records.Single(r => r.Name == "awq");
        output.WriteLine(string.Join(", ", awq.Parameters.Select(p => $"{p.Name}={p.Value}")));
        for (int layer = 0; layer < model.Config.NumHiddenLayers; layer++)
        {
            foreach (var kind in SmoothingGroup.All)
            {
                string value = awq.Parameters.Single(p => p.Name == $"L{layer}.{SmoothingGroup.Names(kind)}.alpha").Value;
                double alpha = double.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                Assert.True(alpha == 0 || options.AwqAlphaGrid.Contains(alpha), value);
            }
        }
        Assert.Contains(awq.Parameters, p => p.Name == "target" && p.Value == "Q4_0");
        Assert.Equal(awq.Parameters, second.Records.Single(r => r.Name == "awq").Parameters);
        var delta = TransformHarness.Delta(model, first, input.Analysis.Calibration.Sequences.Take(2).ToArray());
        Assert.InRange(delta.MaxAbs, 0, ExactTransformTests.Tolerance);
    }

    [Fact]
    public void A_chosen_scale_never_raises_the_groups_error_under_the_target()
    {
        var (model, input) = fixtures.Preset("ma-h64-s1");
        var target = new GgufRoundTrip(QuantizationRecipe.Parse("Q4_0"), model.Config);
        var options = new TransformOptions { Mitigations = Mitigation.Awq, WeightTarget = target };
        var context = new PlanContext(input.Analysis, input.Channels, options);
        int scaled = 0;
        foreach (var layer in context.Layers)
        {
            foreach (var kind in SmoothingGroup.All)
            {
                var group = SmoothingGroup.Build(context, layer, kind, context.Sample);
                double[] meanAbs = group.PerScaleMax(group.InputMeanAbs);
                var result = ScaleSearch.Search(group, options.AwqAlphaGrid, a => AwqPlanner.Scales(meanAbs, a, options.SmoothQuantMinScale),
                    new SearchTarget(target.Name, target, 0));
                Assert.True(result.Error <= result.BaselineError, $"L{layer.Layer} {group.Name}: {result.Error} > {result.BaselineError}");
                if (result.Alpha > 0) scaled++;
            }
        }
        output.WriteLine($"{scaled} groups scaled");
    }

    [Fact]
    public void Awq_with_smooth_or_without_a_target_is_refused()
    {
        var (model, _) = fixtures.Preset("ma-h64-s1");
        var both = new TransformOptions { Mitigations = Mitigation.Awq | Mitigation.Smooth, WeightTarget = new IntRoundTrip(model.Config, 8) };
        Assert.Equal(ErrorCodes.TransformOptionInvalid, Assert.Throws<OptimizerException>(both.Validate).Code);
        var none = new TransformOptions { Mitigations = Mitigation.Awq };
        Assert.Equal(ErrorCodes.TransformOptionInvalid, Assert.Throws<OptimizerException>(none.Validate).Code);
    }
}
