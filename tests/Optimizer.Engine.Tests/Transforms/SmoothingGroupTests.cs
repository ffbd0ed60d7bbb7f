using Optimizer.Engine.Formats;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Quantization.Imatrix;
using Optimizer.Engine.Transforms;
using Xunit.Abstractions;

namespace Optimizer.Engine.Tests.Transforms;

/// <summary>
/// The four smoothing groups of docs/smoothing.md: each group's fold is exact on its own with arbitrary scales (the
/// qwen2 / GQA preset: q/k/v biases, four query heads per key/value head; and the MA preset), the o/v group applies one
/// scale per key/value channel to every o_proj column that reads it, and the searched plan is exact, recorded and
/// deterministic.
/// </summary>
[Collection(TransformCollection.Name)]
public sealed class SmoothingGroupTests(TransformFixtures fixtures, ITestOutputHelper output)
{
    /// <summary>Each preset with each group, by the group's manifest name.</summary>
    public static TheoryData<string, string> FoldCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var preset in new[] { "all-h128-s2", "ma-h64-s1" })
            foreach (var kind in SmoothingGroup.All) data.Add(preset, SmoothingGroup.Names(kind));
        return data;
    }

    /// <summary>Log-uniform pseudo-random factors in [1/4, 4] (never exactly 1), fixed per seed.</summary>
    private static double[] RandomFactors(int length, int seed)
    {
        var random = new Random(seed);
        var factors = new double[length];
        for (int j = 0; j < length; j++) factors[j] = Math.Pow(4, 2 * random.NextDouble() - 1);
        return factors;
    }

    [Theory]
    [MemberData(nameof(FoldCases))]
    public void Each_group_fold_is_exact_with_arbitrary_scales(string preset, string groupName)
    {
        var kind = SmoothingGroup.All.Single(k => SmoothingGroup.Names(k) == groupName);
        var (model, input) = fixtures.Preset(preset);
        var options = new TransformOptions { Mitigations = Mitigation.Smooth };
        var context = new PlanContext(input.Analysis, input.Channels, options);
        foreach (var layer in context.Layers)
        {
            var group = SmoothingGroup.Build(context, layer, kind, null);
            group.Fold(layer, RandomFactors(group.Width, 17 + layer.Layer));
        }
        var plan = new TransformPlan(model.Config, options, context.Layers, Array.Empty<TransformRecord>());

        var delta = TransformHarness.Delta(model, plan, input.Analysis.Calibration.Sequences.Take(2).ToArray());

        output.WriteLine($"{preset} {SmoothingGroup.Names(kind)}: max |Δlogit| {delta.MaxAbs:G3} (relative {delta.Relative:G3})");
        Assert.False(plan.IsIdentity);
        Assert.InRange(delta.MaxAbs, 0, ExactTransformTests.Tolerance);
    }

    [Fact]
    public void The_o_v_group_scales_each_value_row_and_every_o_column_of_the_query_heads_that_read_it()
    {
        var (model, input) = fixtures.Preset("all-h128-s2");
        var config = model.Config;
        int headDim = config.HeadDim, group = config.NumAttentionHeads / config.KeyValueHeads;
        Assert.True(group > 1, "the preset must use grouped-query attention");
        var options = new TransformOptions { Mitigations = Mitigation.Smooth };
        var context = new PlanContext(input.Analysis, input.Channels, options);
        var layer = context.Layers[1];
        var built = SmoothingGroup.Build(context, layer, SmoothingGroupKind.OV, null);
        Assert.Equal(config.KeyValueHeads * headDim, built.Width);
        double[] s = RandomFactors(built.Width, 5);
        built.Fold(layer, s);
        var plan = new TransformPlan(config, options, context.Layers, Array.Empty<TransformRecord>());
        using var view = new TransformedWeights(model.Weights, config, plan);

        float[] Read(ITensorSource source, TensorRole role) => TensorData.ReadFloat32(source, source.Find(LlamaTensorNames.Name(role, 1))!);
        float[] v0 = Read(model.Weights, TensorRole.V), v1 = Read(view, TensorRole.V);
        float[] o0 = Read(model.Weights, TensorRole.O), o1 = Read(view, TensorRole.O);
        float[] b0 = Read(model.Weights, TensorRole.VBias), b1 = Read(view, TensorRole.VBias);
        int hidden = config.HiddenSize, width = config.NumAttentionHeads * headDim;
        for (int j = 0; j < built.Width; j++)
        {
            for (int c = 0; c < hidden; c++) Assert.Equal((float)(v0[j * hidden + c] / s[j]), v1[j * hidden + c]);
            Assert.Equal((float)(b0[j] / s[j]), b1[j]);
        }
        for (int h = 0; h < config.NumAttentionHeads; h++)
        {
            for (int d = 0; d < headDim; d++)
            {
                double expected = s[h / group * headDim + d];
                for (int r = 0; r < hidden; r++) Assert.Equal((float)(o0[r * width + h * headDim + d] * expected), o1[r * width + h * headDim + d]);
            }
        }
        // The importance matrix carried over divides o_proj's input the same way.
        var divisors = ImportanceAdjustment.InputDivisors(plan);
        var o = divisors[Optimizer.Engine.Formats.Gguf.LlamaGgufNames.Name(TensorRole.O, 1)];
        for (int c = 0; c < width; c++) Assert.Equal(s[c / headDim / group * headDim + c % headDim], o[c]);
        Assert.InRange(TransformHarness.Delta(model, plan, input.Analysis.Calibration.Sequences.Take(2).ToArray()).MaxAbs, 0, ExactTransformTests.Tolerance);
    }

    [Theory]
    [InlineData("all-h128-s2")]
    [InlineData("ma-h64-s1")]
    public void The_searched_plan_is_exact_records_alpha_per_group_and_is_deterministic(string preset)
    {
        var (model, input) = fixtures.Preset(preset);
        var first = TransformHarness.Plan(input, TransformOptions.Parse("norm,smooth,otc,tma"));
        var second = TransformHarness.Plan(input, TransformOptions.Parse("norm,smooth,otc,tma"));

        var smooth = first.Records.Single(r => r.Name == "smooth");
        output.WriteLine($"{preset}: " + string.Join(", ", smooth.Parameters.Select(p => $"{p.Name}={p.Value}")));
        for (int layer = 0; layer < model.Config.NumHiddenLayers; layer++)
        {
            foreach (var kind in SmoothingGroup.All)
            {
                string name = $"L{layer}.{SmoothingGroup.Names(kind)}";
                double alpha = double.Parse(smooth.Parameters.Single(p => p.Name == name + ".alpha").Value, System.Globalization.CultureInfo.InvariantCulture);
                Assert.Contains(alpha, TransformOptions.DefaultAlphaGrid);
                Assert.Equal(alpha > 0, smooth.Touched.Any(t => t.Layer == layer && t.Target == Target(kind)));
            }
        }
        Assert.Contains(smooth.Parameters, p => p.Name == "target" && p.Value == SmoothQuantPlanner.TargetName);
        Assert.Equal(smooth.Parameters, second.Records.Single(r => r.Name == "smooth").Parameters);
        for (int l = 0; l < first.Layers.Count; l++)
        {
            Assert.Equal(first.Layers[l].AttnColumnScales, second.Layers[l].AttnColumnScales);
            Assert.Equal(first.Layers[l].FfnColumnScales, second.Layers[l].FfnColumnScales);
            Assert.Equal(first.Layers[l].Y6Scales, second.Layers[l].Y6Scales);
            Assert.Equal(first.Layers[l].ValueRowScales, second.Layers[l].ValueRowScales);
        }
        var delta = TransformHarness.Delta(model, first, input.Analysis.Calibration.Sequences.Take(2).ToArray());
        Assert.InRange(delta.MaxAbs, 0, ExactTransformTests.Tolerance);
    }

    private static string Target(SmoothingGroupKind kind) => kind switch
    {
        SmoothingGroupKind.Qkv => "attn_norm",
        SmoothingGroupKind.GateUp => "ffn_norm",
        SmoothingGroupKind.Down => "y6",
        _ => "v_o",
    };

    [Fact]
    public void A_fixed_alpha_of_zero_leaves_every_group_alone()
    {
        var (_, input) = fixtures.Preset("all-h128-s2");
        var plan = TransformHarness.Plan(input, new TransformOptions { Mitigations = Mitigation.Smooth, SmoothQuantAlpha = 0 });

        Assert.True(plan.IsIdentity);
        Assert.Empty(plan.Records.Single().Touched);
    }
}
