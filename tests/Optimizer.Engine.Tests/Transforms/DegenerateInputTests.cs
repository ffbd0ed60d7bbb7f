using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Engine.Transforms;
using Xunit.Abstractions;

namespace Optimizer.Engine.Tests.Transforms;

/// <summary>Zero γ channels, zero weight columns and rows, NaN and empty input never produce a non-finite or zero scale.</summary>
[Collection(TransformCollection.Name)]
public sealed class DegenerateInputTests(TransformFixtures fixtures, ITestOutputHelper output)
{
    [Theory]
    [InlineData(GammaTargetMode.Outliers)]
    [InlineData(GammaTargetMode.Clip)]
    [InlineData(GammaTargetMode.Interp)]
    [InlineData(GammaTargetMode.Full)]
    public void Gamma_factors_are_finite_and_non_zero_for_zero_nan_and_negative_gamma(GammaTargetMode mode)
    {
        float[] gamma = { 1f, -1.2f, 0f, float.NaN, 40f, -35f, 0.9f, float.PositiveInfinity, 1.1f };
        var options = new TransformOptions { GammaMode = mode };

        double[] factors = GammaFlattening.Factors(gamma, options, gammaRatio: 5);

        Assert.All(factors, f => Assert.True(double.IsFinite(f) && f != 0, $"factor {f}"));
        Assert.Equal(1, factors[2]);
        Assert.Equal(1, factors[3]);
        Assert.Equal(1, factors[7]);
        double flattened = gamma[4] / factors[4];
        if (mode == GammaTargetMode.Outliers) Assert.Equal(1.1, flattened, 5);
        if (mode == GammaTargetMode.Full) Assert.Equal(1, gamma[5] / factors[5], 6);
        if (mode == GammaTargetMode.Full) Assert.Equal(gamma[5], factors[5]);
        else Assert.True(factors[5] > 1, $"factor {factors[5]} keeps the sign of γ and shrinks the outlier");
    }

    [Theory]
    [InlineData(new float[0])]
    [InlineData(new[] { 0f, 0f, 0f })]
    [InlineData(new[] { float.NaN, float.NaN })]
    public void Gamma_without_a_positive_median_is_left_alone(float[] gamma)
    {
        foreach (var mode in Enum.GetValues<GammaTargetMode>())
            Assert.All(GammaFlattening.Factors(gamma, new TransformOptions { GammaMode = mode }, 5), f => Assert.Equal(1, f));
    }

    [Fact]
    public void Zero_gamma_channel_zero_weight_column_and_zero_key_rows_give_a_finite_exact_plan()
    {
        var (folder, _) = fixtures.PresetFolder("all-h128-s2");
        using var model = ModelFolder.Open(folder);
        var config = model.Config;
        using var patched = new PatchedTensorSource(model.Weights);
        int hidden = config.HiddenSize, headDim = config.HeadDim;
        float[] gamma = TensorData.ReadFloat32(model.Weights, model.Weights.Find(LlamaTensorNames.Name(TensorRole.AttnNorm, 0))!);
        gamma[5] = 0;
        patched.Patch(LlamaTensorNames.Name(TensorRole.AttnNorm, 0), gamma);
        foreach (var role in new[] { TensorRole.Q, TensorRole.K, TensorRole.V })
        {
            string name = LlamaTensorNames.Name(role, 1);
            float[] w = TensorData.ReadFloat32(model.Weights, model.Weights.Find(name)!);
            for (int r = 0; r < w.Length / hidden; r++) w[r * hidden + 9] = 0;
            if (role == TensorRole.K)
                foreach (int row in new[] { 3, 3 + headDim / 2 }) Array.Clear(w, row * hidden, hidden);
            patched.Patch(name, w);
        }
        string kBias = LlamaTensorNames.Name(TensorRole.KBias, 1);
        float[] bias = TensorData.ReadFloat32(model.Weights, model.Weights.Find(kBias)!);
        bias[3] = 0;
        bias[3 + headDim / 2] = 0;
        patched.Patch(kBias, bias);
        using var degenerate = model.WithWeights(patched);
        var input = TransformHarness.Analyze(degenerate, TransformHarness.Calibration(fixtures.Scratch, 2, 48));
        var options = new TransformOptions { Mitigations = Mitigation.All, GammaMode = GammaTargetMode.Full, OtcScope = OtcScope.All, ClampBirthSite = true };

        var plan = TransformHarness.Plan(input, options);

        foreach (var layer in plan.Layers)
            foreach (var scales in new[] { layer.AttnColumnScales, layer.FfnColumnScales, layer.QkRowScales, layer.Y6Scales, layer.ClampFactors })
                if (scales is not null) Assert.All(scales, s => Assert.True(double.IsFinite(s) && s != 0, $"layer {layer.Layer}: scale {s}"));
        Assert.Equal(1, plan.Layers[1].QkRowScales![3]);
        Assert.Equal(1, plan.Layers[1].QkRowScales![3 + headDim / 2]);
        var exact = TransformHarness.Plan(input, options with { Mitigations = Mitigation.All & ~Mitigation.TmaClamp });
        using var view = new TransformedWeights(patched, config, exact);
        var delta = LogitDelta.Measure(config, patched, view, input.Analysis.Calibration.Sequences, new ModelOptions());
        output.WriteLine($"degenerate all-h128-s2, γ full + smooth + otc(all) + tma: max |Δlogit| {delta.MaxAbs:G3}");
        Assert.InRange(delta.MaxAbs, 0, ExactTransformTests.Tolerance);
    }

    [Fact]
    public void Logit_delta_needs_sequences()
    {
        var (model, _) = fixtures.Preset("gamma-h64-s1");
        Assert.Throws<ArgumentException>(() => LogitDelta.MaxAbs(model.Config, model.Weights, model.Weights, Array.Empty<int[]>(), new ModelOptions()));
        Assert.Throws<ArgumentException>(() => LogitDelta.MaxAbs(model.Config, model.Weights, model.Weights, new[] { Array.Empty<int>() }, new ModelOptions()));
    }
}
