using Optimizer.Engine.Diagnostics.MassiveActivations;
using Optimizer.Engine.Model;
using Optimizer.Engine.Transforms;
using Xunit.Abstractions;

namespace Optimizer.Engine.Tests.Transforms;

/// <summary>The approximate TMA clamp: it changes the function, and it leaves the layer where an MA is born alone unless asked.</summary>
[Collection(TransformCollection.Name)]
public sealed class TmaClampTests(TransformFixtures fixtures, ITestOutputHelper output)
{
    [Fact]
    public void Clamp_shrinks_the_tma_neurons_of_the_trained_fixture_and_changes_its_logits()
    {
        var (model, input) = fixtures.Austen();
        var plan = TransformHarness.Plan(input, TransformOptions.Parse("tma-clamp"));

        var record = Assert.Single(plan.Records);
        var delta = TransformHarness.Delta(model, plan, input.Analysis.Calibration.Sequences.Take(2).ToArray());

        output.WriteLine($"austen [tma-clamp]: {record.ChannelCount} neurons in layers [{string.Join(",", record.Layers)}], factors {record.MinScale:G4}..{record.MaxScale:G4}; " +
            $"max |Δlogit| {delta.MaxAbs:G3} (relative {delta.Relative:G3})");
        Assert.False(record.Exact);
        Assert.False(plan.IsExact);
        Assert.NotEmpty(record.Touched);
        Assert.All(record.Touched, t => Assert.True(t.MaxScale < 1 && t.MinScale > 0));
        var tmaNeurons = input.Analysis.MassiveActivations.Occurrences.Where(m => m.Site == ProbeSite.Y6 && m.Kind == MassiveActivationKind.Tma)
            .Select(m => (m.Layer, m.Channel)).ToHashSet();
        Assert.All(record.Touched, t => Assert.All(t.Channels, k => Assert.Contains((t.Layer, k), tmaNeurons)));
        Assert.True(delta.MaxAbs > ExactTransformTests.Tolerance, $"the clamp moved the logits by only {delta.MaxAbs}");
    }

    [Fact]
    public void Clamp_never_touches_the_birth_site_unless_asked()
    {
        var (model, input) = fixtures.Preset("ma-h64-s1");
        var birth = Assert.Single(input.Analysis.MassiveActivations.Births);
        Assert.Equal(ProbeSite.Y6, birth.Site);

        var plan = TransformHarness.Plan(input, TransformOptions.Parse("tma-clamp"));
        Assert.Empty(Assert.Single(plan.Records).Touched);
        Assert.True(plan.IsIdentity);

        var asked = TransformHarness.Plan(input, new TransformOptions { Mitigations = Mitigation.TmaClamp, ClampBirthSite = true });
        var touch = Assert.Single(Assert.Single(asked.Records).Touched);
        Assert.Equal(birth.Layer, touch.Layer);
        Assert.Equal(new[] { birth.Channel }, touch.Channels);
        Assert.Contains(Assert.Single(asked.Records).Parameters, p => p.Name == "birth_site" && p.Value == "true");
        var delta = TransformHarness.Delta(model, asked, input.Analysis.Calibration.Sequences.Take(1).ToArray());
        output.WriteLine($"ma-h64-s1 [tma-clamp, birth site allowed]: factor {touch.MinScale:G4}, max |Δlogit| {delta.MaxAbs:G3}");
        Assert.True(delta.MaxAbs > ExactTransformTests.Tolerance);
    }

    [Fact]
    public void Clamp_after_tma_smoothing_has_nothing_left_to_clamp()
    {
        var (_, input) = fixtures.Austen();
        var plan = TransformHarness.Plan(input, TransformOptions.Parse("tma,tma-clamp"));

        Assert.NotEmpty(plan.Records.Single(r => r.Name == "tma").Touched);
        Assert.Empty(plan.Records.Single(r => r.Name == "tma-clamp").Touched);
        Assert.True(plan.IsExact);
    }

    [Fact]
    public void Absolute_tau_is_recorded_and_bounds_every_clamped_neuron()
    {
        var (_, input) = fixtures.Austen();
        var plan = TransformHarness.Plan(input, new TransformOptions { Mitigations = Mitigation.TmaClamp, ClampTau = 20 });

        var record = Assert.Single(plan.Records);
        Assert.Contains(record.Parameters, p => p.Name == "tau" && p.Value == "20");
        foreach (var touch in record.Touched)
        {
            var y6 = input.Analysis.Statistics.Get(touch.Layer, ProbeSite.Y6).ChannelAbsMax;
            foreach (int k in touch.Channels)
                Assert.Equal(20, y6[k] * plan.Layers[touch.Layer].ClampFactors![k], 3);
        }
        Assert.NotEmpty(record.Touched);
    }
}
