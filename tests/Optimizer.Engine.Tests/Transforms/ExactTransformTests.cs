using Optimizer.Engine.Transforms;
using Xunit.Abstractions;

namespace Optimizer.Engine.Tests.Transforms;

/// <summary>
/// Every exact transform, alone and all together, keeps the logits of the synthetic presets within 1e-3 (float32):
/// MA, γ and OTC presets at hidden 64, the qwen2 / GQA / BF16 preset at hidden 128 (q/k/v biases, four query heads per
/// key head) and the F16 preset at hidden 256. The logits are compared on two of the calibration sequences.
/// </summary>
[Collection(TransformCollection.Name)]
public sealed class ExactTransformTests(TransformFixtures fixtures, ITestOutputHelper output)
{
    public const double Tolerance = 1e-3;

    private const string AllExact = "norm,smooth,otc,tma";

    /// <summary>Each preset with the transforms that have something to do on it, alone and together (the qwen2 / GQA preset with every one).</summary>
    public static TheoryData<string, string> Cases() => new()
    {
        { "ma-h64-s1", "tma" }, { "ma-h64-s1", AllExact },
        { "gamma-h64-s1", "norm" }, { "gamma-h64-s1", AllExact },
        { "otc-h64-s1", "otc" }, { "otc-h64-s1", AllExact },
        { "all-h128-s2", "norm" }, { "all-h128-s2", "smooth" }, { "all-h128-s2", "otc" }, { "all-h128-s2", "tma" }, { "all-h128-s2", AllExact },
        { "all-h256-s3", "norm" }, { "all-h256-s3", AllExact },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Exact_transform_keeps_the_logits_of_the_preset(string preset, string list)
    {
        var (model, input) = fixtures.Preset(preset);
        var plan = TransformHarness.Plan(input, TransformOptions.Parse(list));

        Assert.True(plan.IsExact);
        Assert.All(plan.Records, r => Assert.True(r.Exact));
        foreach (var record in plan.Records)
        {
            bool expected = record.Name switch
            {
                "norm" => preset.StartsWith("gamma", StringComparison.Ordinal) || preset.StartsWith("all", StringComparison.Ordinal),
                "otc" => preset.StartsWith("otc", StringComparison.Ordinal) || preset.StartsWith("all", StringComparison.Ordinal),
                "tma" => preset.StartsWith("ma", StringComparison.Ordinal) || preset.StartsWith("all", StringComparison.Ordinal),
                _ => true,
            };
            Assert.True(expected == record.Touched.Count > 0, $"{record.Name} touched {record.Touched.Count} (layer, target) pairs on {preset}.");
        }
        var delta = TransformHarness.Delta(model, plan, input.Analysis.Calibration.Sequences.Take(2).ToArray());
        output.WriteLine($"{preset} [{list}]: max |Δlogit| {delta.MaxAbs:G3} (relative {delta.Relative:G3}, max |logit| {delta.ReferenceMaxAbs:G4}); " +
            string.Join("; ", plan.Records.Select(r => $"{r.Name}: {r.ChannelCount} channels in layers [{string.Join(",", r.Layers)}], scales {r.MinScale:G4}..{r.MaxScale:G4}")));
        Assert.InRange(delta.MaxAbs, 0, Tolerance);
    }

    public static TheoryData<string, GammaTargetMode> GammaModes()
    {
        var data = new TheoryData<string, GammaTargetMode>();
        foreach (var mode in Enum.GetValues<GammaTargetMode>()) data.Add("all-h128-s2", mode);
        return data;
    }

    [Theory]
    [MemberData(nameof(GammaModes))]
    public void Every_gamma_target_mode_with_every_qk_pair_balanced_keeps_the_logits(string preset, GammaTargetMode mode)
    {
        var (model, input) = fixtures.Preset(preset);
        var options = new TransformOptions { Mitigations = Mitigation.Norm | Mitigation.Smooth | Mitigation.Otc | Mitigation.Tma, GammaMode = mode, OtcScope = OtcScope.All };
        var plan = TransformHarness.Plan(input, options);

        var otc = Assert.Single(plan.Records, r => r.Name == "otc");
        Assert.Equal(model.Config.NumHiddenLayers, otc.Layers.Count);
        var delta = TransformHarness.Delta(model, plan, input.Analysis.Calibration.Sequences.Take(2).ToArray());
        output.WriteLine($"{preset} γ {GammaTargetModes.Id(mode)} + smooth + otc(all) + tma: max |Δlogit| {delta.MaxAbs:G3} (relative {delta.Relative:G3})");
        Assert.InRange(delta.MaxAbs, 0, Tolerance);
    }
}
