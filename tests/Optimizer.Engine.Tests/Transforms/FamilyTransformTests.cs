using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Engine.Tests.Formats;
using Optimizer.Engine.Transforms;
using Optimizer.Fixtures;
using Xunit.Abstractions;

namespace Optimizer.Engine.Tests.Transforms;

/// <summary>
/// The families beyond plain llama (qwen3's per-head q/k norms, Llama 3.1's RoPE scaling): analysis finds the planted
/// massive activation where it was planted, and every exact transform keeps the logits within
/// <see cref="ExactTransformTests.Tolerance"/>; on qwen3 the OTC balancing rescales q_norm/k_norm and leaves
/// q_proj/k_proj alone.
/// </summary>
public sealed class FamilyTransformTests(ITestOutputHelper output)
{
    public static TheoryData<string> Families() => new() { "qwen3", "llama3" };

    [Theory]
    [MemberData(nameof(Families))]
    public void Analysis_finds_the_planted_mechanism_and_every_exact_transform_keeps_the_logits(string family)
    {
        using var temp = new TempFolder();
        string folder = Directory.CreateDirectory(temp.File(family)).FullName;
        var options = SyntheticModelBuilder.Presets.AllThree(11, 64);
        var builder = new SyntheticModelBuilder(options);
        builder = family == "qwen3"
            ? builder.WithArchitecture(SyntheticArchitecture.Qwen3)
            : builder.WithRopeScaling(SyntheticModelBuilder.Llama3RopeScaling);
        builder.Build(folder);
        using var model = ModelFolder.Open(folder);
        var input = TransformHarness.Analyze(model, TransformHarness.Calibration(folder));

        var plant = options.MassiveActivation!;
        Assert.Contains(input.Analysis.MassiveActivations.Births, b => b.Layer == plant.Layer && b.Site == ProbeSite.Y6 && b.Channel == plant.Neuron && b.ResidualChannel == plant.Channel);
        if (family == "qwen3")
            Assert.Contains(input.Analysis.Statistics.Sites, s => s.SiteId == "attn.q_norm" && s.Layer == 0);

        var sequences = input.Analysis.Calibration.Sequences.Take(2).ToArray();
        foreach (string list in new[] { "norm", "smooth", "otc", "tma", "norm,smooth,otc,tma" })
        {
            var plan = TransformHarness.Plan(input, TransformOptions.Parse(list) with { OtcScope = OtcScope.All });
            Assert.True(plan.IsExact);
            var delta = TransformHarness.Delta(model, plan, sequences);
            output.WriteLine($"{family} [{list}]: max |Δlogit| {delta.MaxAbs:G3} (relative {delta.Relative:G3}); " +
                string.Join("; ", plan.Records.Select(r => $"{r.Name}: {r.ChannelCount} channels")));
            Assert.InRange(delta.MaxAbs, 0, ExactTransformTests.Tolerance);
        }

        if (family != "qwen3") return;
        var otc = TransformHarness.Plan(input, new TransformOptions { Mitigations = Mitigation.Otc, OtcScope = OtcScope.All });
        Assert.NotEmpty(Assert.Single(otc.Records).Touched);
        using var view = new TransformedWeights(model.Weights, model.Config, otc);
        foreach (var role in new[] { TensorRole.Q, TensorRole.K })
        {
            string name = LlamaTensorNames.Name(role, 0);
            Assert.Equal(TensorData.ReadFloat32(model.Weights, model.Weights.Find(name)!), TensorData.ReadFloat32(view, view.Find(name)!));
        }
        string qNorm = LlamaTensorNames.Name(TensorRole.QNorm, 0), kNorm = LlamaTensorNames.Name(TensorRole.KNorm, 0);
        float[] q0 = TensorData.ReadFloat32(model.Weights, model.Weights.Find(qNorm)!), q1 = TensorData.ReadFloat32(view, view.Find(qNorm)!);
        float[] k0 = TensorData.ReadFloat32(model.Weights, model.Weights.Find(kNorm)!), k1 = TensorData.ReadFloat32(view, view.Find(kNorm)!);
        Assert.NotEqual(q0, q1);
        // γ_q ÷ r and γ_k × r: the products γ_q·γ_k, which the q·k logits see, are unchanged.
        for (int i = 0; i < q0.Length; i++) Assert.Equal((double)q0[i] * k0[i], (double)q1[i] * k1[i], 1e-5 * Math.Abs((double)q0[i] * k0[i]) + 1e-12);
    }
}
