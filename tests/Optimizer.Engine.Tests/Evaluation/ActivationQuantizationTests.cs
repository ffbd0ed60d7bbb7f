using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Model;
using Optimizer.Engine.Tests.Model;
using static TorchSharp.torch;

namespace Optimizer.Engine.Tests.Evaluation;

/// <summary>Activation fake quantization: the arithmetic, static calibration, its effect on logits, and bad settings.</summary>
public class ActivationQuantizationTests
{
    private static readonly ModelSpec Spec = new("aq", Vocab: 53, Hidden: 32, Intermediate: 48, Layers: 2, Heads: 4, KvHeads: 2, Bos: 1);

    private static float[] Quantize(float[] values, long[] shape, ActivationQuantization q, int layer = 0, ProbeSite site = ProbeSite.Y6)
    {
        using Tensor x = tensor(values, shape);
        using Tensor y = ActivationFakeQuantizer.Apply(x, q, layer, site);
        return y.data<float>().ToArray();
    }

    [Fact]
    public void PerTokenDynamicUsesEachRowsOwnScaleAndRoundsHalfToEven()
    {
        // Row 0: max 127 → step 1, so x.5 values land on the even neighbour. Row 1: max 12.7 → step 0.1. Row 2: all zero.
        float[] values = { 127, 0.5f, 1.5f, -2.5f, 63.5f, 12.7f, -6.35f, 0.04f, 1.26f, -12.7f, 0, 0, 0, 0, 0 };
        float[] q = Quantize(values, new long[] { 3, 5 }, new ActivationQuantization(8, ActivationQuantMode.PerTokenDynamic));
        Assert.Equal(new float[] { 127, 0, 2, -2, 64 }, q[..5]);
        Assert.Equal(12.7f, q[5], 1e-5f);
        Assert.Equal(-6.4f, q[6], 1e-5f); // −63.5 steps → −64 (even)
        Assert.Equal(0f, q[7]);
        Assert.Equal(1.3f, q[8], 1e-5f);
        Assert.Equal(-12.7f, q[9], 1e-5f);
        Assert.Equal(new float[5], q[10..]);

        // 4 bits: qmax 7; row max 7 → step 1.
        float[] q4 = Quantize(new float[] { 7, 2.5f, -3.5f, 0.49f }, new long[] { 1, 4 }, new ActivationQuantization(4, ActivationQuantMode.PerTokenDynamic));
        Assert.Equal(new float[] { 7, 2, -4, 0 }, q4);
    }

    [Fact]
    public void PerTensorStaticUsesTheCalibratedRangeAndClampsBeyondIt()
    {
        var scales = StaticActivationScales.FromMaxAbs(2, (layer, site) => site == ProbeSite.Y6 ? (layer == 1 ? 12.7f : 1.27f) : 0f);
        var q = new ActivationQuantization(8, ActivationQuantMode.PerTensorStatic, scales);
        Assert.Equal(0.1, scales.Scale(1, ProbeSite.Y6, 8), 1e-7);
        float[] result = Quantize(new float[] { 100, -50, 0.26f, 12.7f, -0.04f, 3.05f }, new long[] { 2, 3 }, q, layer: 1);
        float[] expected = { 12.7f, -12.7f, 0.3f, 12.7f, 0f, 3.0f }; // 30.5 steps → 30 (even)
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], result[i], 1e-5f);
        // Layer 0's range is 1.27, so the same outliers clamp to ±1.27.
        float[] layer0 = Quantize(new float[] { 100, -50 }, new long[] { 1, 2 }, q, layer: 0);
        Assert.Equal(1.27f, layer0[0], 1e-6f);
        Assert.Equal(-1.27f, layer0[1], 1e-6f);
        // A site that never saw a non-zero value quantizes everything to zero.
        Assert.Equal(new float[2], Quantize(new float[] { 3, -4 }, new long[] { 1, 2 }, q, layer: 1, site: ProbeSite.AttnY2));
        Assert.Throws<ArgumentException>(() => scales.MaxAbs(0, ProbeSite.Y7));
    }

    [Fact]
    public void CalibrationRecordsTheLargestMagnitudeOfEveryLinearInput()
    {
        using var source = RandomModels.Build(Spec, seed: 21);
        using var model = LlamaModel.Create(RandomModels.Config(Spec), source, new ModelOptions());
        int[][] sequences = RandomModels.Tokens(Spec.Vocab, 5, 9, seed: 2);
        var scales = StaticActivationScales.Calibrate(model, sequences, batchSize: 2);

        var probe = new CapturingProbe((_, site) => StaticActivationScales.Sites.Contains(site));
        using (model.Forward(sequences, probe)) { }
        Assert.Equal(Spec.Layers, scales.Layers);
        for (int layer = 0; layer < Spec.Layers; layer++)
        {
            foreach (ProbeSite site in StaticActivationScales.Sites)
            {
                float expected = probe.Get(layer, site).Values.Max(Math.Abs);
                Assert.True(expected > 0);
                Assert.Equal(expected, scales.MaxAbs(layer, site));
            }
        }
        Assert.Equal(new[] { ProbeSite.AttnY2, ProbeSite.AttnOut, ProbeSite.Y2, ProbeSite.Y6 }, StaticActivationScales.Sites);
    }

    [Fact]
    public void EightBitChangesLogitsByASmallBoundedAmountAndFourBitByMore()
    {
        using var source = RandomModels.Build(Spec, seed: 22);
        var config = RandomModels.Config(Spec);
        int[][] tokens = RandomModels.Tokens(Spec.Vocab, 2, 16, seed: 3);
        float[] Logits(ActivationQuantization? q)
        {
            using var model = LlamaModel.Create(config, source, new ModelOptions { ActivationQuantization = q });
            using var logits = model.Forward(tokens);
            return logits.data<float>().ToArray();
        }

        float[] plain = Logits(null);
        float[] a8 = Logits(new ActivationQuantization(8, ActivationQuantMode.PerTokenDynamic));
        float[] a4 = Logits(new ActivationQuantization(4, ActivationQuantMode.PerTokenDynamic));
        double range = plain.Max() - plain.Min();
        double d8 = MaxAbsDiff(plain, a8), d4 = MaxAbsDiff(plain, a4);
        Assert.True(d8 > 0, "8-bit activations must change the logits");
        Assert.True(d8 < 0.02 * range, $"8-bit: max |Δlogit| {d8} vs logit range {range}");
        Assert.True(d4 > 5 * d8, $"4-bit {d4} must be much worse than 8-bit {d8}");
        Assert.True(d4 < 0.5 * range, $"4-bit: max |Δlogit| {d4} vs logit range {range}");
        // The unquantized forward is untouched by the option's existence.
        Assert.Equal(plain, Logits(null));
    }

    [Fact]
    public void ProbesStillSeeTheUnquantizedInputs()
    {
        using var source = RandomModels.Build(Spec, seed: 23);
        var config = RandomModels.Config(Spec);
        int[][] tokens = RandomModels.Tokens(Spec.Vocab, 1, 8, seed: 4);
        using var plain = LlamaModel.Create(config, source, new ModelOptions());
        using var quantized = LlamaModel.Create(config, source, new ModelOptions { ActivationQuantization = new ActivationQuantization(4, ActivationQuantMode.PerTokenDynamic) });
        var a = new CapturingProbe((layer, site) => layer == 0 && site == ProbeSite.AttnY2);
        var b = new CapturingProbe((layer, site) => layer == 0 && site == ProbeSite.AttnY2);
        using (plain.Forward(tokens, a)) { }
        using (quantized.Forward(tokens, b)) { }
        Assert.Equal(a.Get(0, ProbeSite.AttnY2).Values, b.Get(0, ProbeSite.AttnY2).Values);
    }

    [Fact]
    public void BadSettingsFailWhenTheModelIsCreated()
    {
        using var source = RandomModels.Build(Spec, seed: 24);
        var config = RandomModels.Config(Spec);
        void Expect(ActivationQuantization q, string fragment)
        {
            var error = Assert.Throws<OptimizerException>(() => LlamaModel.Create(config, source, new ModelOptions { ActivationQuantization = q }));
            Assert.Equal(ErrorCodes.ActivationQuantizationInvalid, error.Code);
            Assert.Contains(fragment, error.Message);
        }
        Expect(new ActivationQuantization(6, ActivationQuantMode.PerTokenDynamic), "8 or 4 bits");
        Expect(new ActivationQuantization(8, ActivationQuantMode.PerTensorStatic), "calibrated scales");
        Expect(new ActivationQuantization(8, ActivationQuantMode.PerTensorStatic, StaticActivationScales.FromMaxAbs(3, (_, _) => 1f)), "3 layer(s)");
        Expect(new ActivationQuantization(8, (ActivationQuantMode)7), "mode");
        var nonFinite = Assert.Throws<OptimizerException>(() => StaticActivationScales.FromMaxAbs(1, (_, _) => float.NaN));
        Assert.Equal(ErrorCodes.ActivationQuantizationInvalid, nonFinite.Code);
        Assert.Equal("a8-static", new ActivationQuantization(8, ActivationQuantMode.PerTensorStatic).Name);
        Assert.Equal("a4-dynamic", new ActivationQuantization(4, ActivationQuantMode.PerTokenDynamic).Name);
    }

    private static double MaxAbsDiff(float[] a, float[] b)
    {
        double max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }
}
