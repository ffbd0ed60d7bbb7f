using Optimizer.Engine.Formats;
using Optimizer.Engine.Pipeline;
using Optimizer.Engine.Tests.Model;
using Optimizer.Engine.Transforms;
using Optimizer.Fixtures;
using Xunit.Abstractions;

namespace Optimizer.Engine.Tests.Transforms;

/// <summary>Mitigations on Gemma: each exact one keeps the logits (Δlogit check) with the (1 + γ) norm convention; OTC is refused on Gemma 3.</summary>
public sealed class GemmaTransformTests(ITestOutputHelper output)
{
    /// <summary>Relative max |Δlogit| accepted for an exact transform here (float32 rescaling; the pipeline allows <see cref="TransformStage.ExactTolerance"/>).</summary>
    public const double Tolerance = 1e-4;

    [Theory]
    [InlineData(GemmaFamily.Gemma2, "norm")]
    [InlineData(GemmaFamily.Gemma2, "smooth")]
    [InlineData(GemmaFamily.Gemma2, "otc")]
    [InlineData(GemmaFamily.Gemma2, "tma")]
    [InlineData(GemmaFamily.Gemma2, "norm,smooth,otc,tma")]
    [InlineData(GemmaFamily.Gemma3, "norm")]
    [InlineData(GemmaFamily.Gemma3, "smooth")]
    [InlineData(GemmaFamily.Gemma3, "tma")]
    [InlineData(GemmaFamily.Gemma3, "norm,smooth,tma")]
    public void ExactMitigationsKeepTheLogits(GemmaFamily family, string mitigations)
    {
        using var model = ModelFolder.Open(GemmaModelTests.Folder(family));
        var input = TransformHarness.Analyze(model, TransformHarness.Calibration(Path.GetTempPath()));
        // OTC scope all: the random Gemma models have no flagged OTC, so every head's q/k rows are balanced.
        var plan = TransformHarness.Plan(input, TransformOptions.Parse(mitigations) with { OtcScope = OtcScope.All });
        var delta = TransformHarness.Delta(model, plan, input.Analysis.Calibration.Sequences);
        foreach (var record in plan.Records)
            output.WriteLine($"{record.Name}: {record.ChannelCount} channels in layers [{string.Join(",", record.Layers)}], scales {record.MinScale:G4}..{record.MaxScale:G4}");
        output.WriteLine($"{family} {mitigations}: max |Δlogit| {delta.MaxAbs:E3} of {delta.ReferenceMaxAbs:F3} (relative {delta.Relative:E3})");
        Assert.All(plan.Records, r => Assert.True(r.ChannelCount > 0, $"{r.Name} planned nothing on {family}"));
        Assert.True(delta.Relative <= Tolerance, $"{mitigations}: relative Δlogit {delta.Relative:E3}");
        if (mitigations.Contains("norm", StringComparison.Ordinal))
        {
            var norm = plan.Records.Single(r => r.Name == "norm");
            Assert.Contains(norm.Touched, t => t.Layer == 2 && t.Target == "attn_norm" && t.Channels.Contains(9));
        }
    }

    [Fact]
    public void NormFlatteningSetsTheGemmaMultiplier()
    {
        using var model = ModelFolder.Open(GemmaModelTests.Folder(GemmaFamily.Gemma2));
        var input = TransformHarness.Analyze(model, TransformHarness.Calibration(Path.GetTempPath()));
        var plan = TransformHarness.Plan(input, TransformOptions.Parse("norm"));
        double factor = plan.Layers[2].AttnColumns![9];
        using var view = new TransformedWeights(model.Weights, model.Config, plan);
        string name = LlamaTensorNames.Name(TensorRole.AttnNorm, 2, model.Config);
        float before = TensorData.ReadFloat32(model.Weights, model.Weights.Find(name)!)[9];
        float after = TensorData.ReadFloat32(view, view.Find(name)!)[9];
        output.WriteLine($"γ {before} (multiplier {1 + before}) / {factor:G6} → γ' {after} (multiplier {1 + after})");
        Assert.Equal((1 + before) / factor, 1 + after, 1e-5);
        Assert.True(factor > 5, $"the planted ×20 channel was flattened by only {factor}");
        float[] q = TensorData.ReadFloat32(model.Weights, model.Weights.Find(LlamaTensorNames.Name(TensorRole.Q, 2))!);
        float[] qAfter = TensorData.ReadFloat32(view, view.Find(LlamaTensorNames.Name(TensorRole.Q, 2))!);
        Assert.Equal(q[9] * factor, qAfter[9], 1e-5 * Math.Abs(q[9] * factor) + 1e-7);
    }

    [Fact]
    public void OtcIsRefusedOnGemma3WhenNamedAndSkippedUnderAll()
    {
        using var model = ModelFolder.Open(GemmaModelTests.Folder(GemmaFamily.Gemma3));
        var input = TransformHarness.Analyze(model, TransformHarness.Calibration(Path.GetTempPath()));
        var error = Assert.Throws<OptimizerException>(() => TransformHarness.Plan(input, TransformOptions.Parse("otc")));
        Assert.Equal(ErrorCodes.TransformUnsupportedArchitecture, error.Code);
        Assert.Contains("q_norm", error.Message);

        var all = TransformOptions.Parse("all") with { Mitigations = Mitigation.All & ~Mitigation.TmaClamp, SkipUnsupported = true };
        var plan = TransformHarness.Plan(input, all);
        var otc = plan.Records.Single(r => r.Name == "otc");
        Assert.Empty(otc.Touched);
        Assert.Contains(otc.Parameters, p => p.Name == "skipped" && p.Value.Contains("q_norm", StringComparison.Ordinal));
        Assert.Null(ArchitectureSupport.Unsupported(Mitigation.Otc, GemmaSyntheticModel.Config(GemmaSyntheticOptions.Gemma2Model())));
        var delta = TransformHarness.Delta(model, plan, input.Analysis.Calibration.Sequences);
        output.WriteLine($"gemma3 all (otc skipped): relative Δlogit {delta.Relative:E3}");
        Assert.True(delta.Relative <= Tolerance);
    }
}
