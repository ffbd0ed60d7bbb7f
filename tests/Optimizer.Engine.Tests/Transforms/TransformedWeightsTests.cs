using Optimizer.Engine.Formats;
using Optimizer.Engine.Transforms;

namespace Optimizer.Engine.Tests.Transforms;

/// <summary>The lazy view: pass-through of untouched tensors, F32 for changed ones, determinism, chunking, threads, misuse.</summary>
[Collection(TransformCollection.Name)]
public sealed class TransformedWeightsTests(TransformFixtures fixtures)
{
    private static byte[] Bytes(ITensorSource source, TensorInfo info, int maxChunk = 1 << 30)
    {
        var bytes = new byte[info.Length];
        source.ReadBytes(info, (chunk, offset) => chunk.CopyTo(bytes.AsSpan((int)offset)), maxChunk);
        return bytes;
    }

    private (ModelFolder Model, TransformPlan Plan) AllExact(string preset = "all-h128-s2")
    {
        var (model, input) = fixtures.Preset(preset);
        return (model, TransformHarness.Plan(input, TransformOptions.Parse("norm,otc,tma")));
    }

    [Fact]
    public void Untouched_tensors_pass_through_and_changed_ones_become_f32_of_the_same_shape()
    {
        var (model, plan) = AllExact();
        using var view = new TransformedWeights(model.Weights, model.Config, plan);

        Assert.Equal(model.Weights.Tensors.Select(t => t.Name), view.Tensors.Select(t => t.Name));
        int changed = 0;
        foreach (var original in model.Weights.Tensors)
        {
            var seen = view.Find(original.Name)!;
            Assert.Equal(original.Shape, seen.Shape);
            if (!view.IsChanged(original.Name))
            {
                Assert.Same(original, seen);
                Assert.Equal(Bytes(model.Weights, original), Bytes(view, seen));
                continue;
            }
            changed++;
            Assert.Equal(DType.F32, seen.DType);
            Assert.Equal(original.ElementCount * 4, seen.Length);
            Assert.Equal(DType.BF16, original.DType);
        }
        // norm: layer 2 input_layernorm + q/k/v, layer 5 post_attention_layernorm + gate/up; otc: layer 2 q/k biases; tma: layer 1 up/down
        Assert.True(view.IsChanged("model.layers.2.self_attn.q_proj.bias"));
        Assert.True(view.IsChanged("model.layers.1.mlp.down_proj.weight"));
        Assert.False(view.IsChanged("model.layers.0.self_attn.q_proj.weight"));
        Assert.False(view.IsChanged("model.embed_tokens.weight"));
        Assert.Equal(11, changed);
    }

    [Fact]
    public void Gamma_outlier_channels_become_the_median_with_their_sign()
    {
        var (model, input) = fixtures.Preset("gamma-h64-s1");
        var plan = TransformHarness.Plan(input, TransformOptions.Parse("norm"));
        using var view = new TransformedWeights(model.Weights, model.Config, plan);
        string name = LlamaTensorNames.Name(TensorRole.AttnNorm, 2);

        float[] before = TensorData.ReadFloat32(model.Weights, model.Weights.Find(name)!);
        float[] after = TensorData.ReadFloat32(view, view.Find(name)!);

        double median = before.Select(g => (double)Math.Abs(g)).Order().ElementAt((before.Length - 1) / 2);
        var touch = Assert.Single(plan.Records[0].Touched, t => t.Layer == 2 && t.Target == "attn_norm");
        Assert.Equal(2, touch.Channels.Count);
        for (int j = 0; j < before.Length; j++)
        {
            if (touch.Channels.Contains(j)) Assert.Equal(Math.Sign(before[j]) * median, after[j], 5);
            else Assert.Equal(before[j], after[j]);
        }
    }

    [Fact]
    public void Plans_and_views_are_deterministic()
    {
        var (model, input) = fixtures.Preset("all-h64-s1");
        var options = TransformOptions.Parse("all");
        var first = TransformHarness.Plan(input, options);
        var second = TransformHarness.Plan(input, options);
        using var a = new TransformedWeights(model.Weights, model.Config, first);
        using var b = new TransformedWeights(model.Weights, model.Config, second);

        Assert.Equal(Describe(first), Describe(second));
        foreach (var info in a.Tensors.Where(t => a.IsChanged(t.Name)))
            Assert.Equal(Bytes(a, info), Bytes(b, b.Find(info.Name)!));
        Assert.Contains(a.Tensors, t => a.IsChanged(t.Name));
    }

    private static string Describe(TransformPlan plan) => string.Join("\n", plan.Records.Select(r =>
        $"{r.Name} {r.Exact} {string.Join(",", r.Parameters)} " + string.Join(";", r.Touched.Select(t => $"{t.Layer}:{t.Target}:{string.Join(",", t.Channels)}:{t.MinScale:R}:{t.MaxScale:R}"))));

    [Fact]
    public void Small_chunks_concurrent_readers_and_layer_switches_give_the_same_bytes()
    {
        var (model, plan) = AllExact();
        using var view = new TransformedWeights(model.Weights, model.Config, plan);
        var changed = view.Tensors.Where(t => view.IsChanged(t.Name)).ToArray();
        var reference = changed.ToDictionary(t => t.Name, t => Bytes(view, t));

        foreach (var info in changed) Assert.Equal(reference[info.Name], Bytes(view, info, maxChunk: 6));
        Parallel.For(0, 4 * changed.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var info = changed[(i * 7) % changed.Length];
            Assert.Equal(reference[info.Name], Bytes(view, info, maxChunk: 1 << 12));
        });
    }

    [Fact]
    public void A_plan_for_another_model_is_OOPT1132()
    {
        var (_, plan) = AllExact("all-h128-s2");
        var (other, _) = fixtures.Preset("gamma-h64-s1");

        var error = Assert.Throws<OptimizerException>(() => new TransformedWeights(other.Weights, other.Config, plan));
        Assert.Equal(ErrorCodes.TransformPlanMismatch, error.Code);
    }

    [Fact]
    public void Disposing_the_view_keeps_the_original_open()
    {
        var (model, plan) = AllExact();
        var view = new TransformedWeights(model.Weights, model.Config, plan);
        var changed = view.Tensors.First(t => view.IsChanged(t.Name));
        Bytes(view, changed);

        view.Dispose();

        Assert.Throws<ObjectDisposedException>(() => Bytes(view, changed));
        var original = model.Weights.Find(changed.Name)!;
        Assert.Equal(original.Length, Bytes(model.Weights, original).Length);
    }

    [Fact]
    public void No_mitigation_gives_an_identity_plan_and_a_pure_pass_through_view()
    {
        var (model, input) = fixtures.Preset("all-h64-s1");
        var plan = TransformHarness.Plan(input, TransformOptions.Parse("none"));
        using var view = new TransformedWeights(model.Weights, model.Config, plan);

        Assert.Empty(plan.Records);
        Assert.True(plan.IsIdentity);
        Assert.All(model.Weights.Tensors, t => Assert.Same(t, view.Find(t.Name)));
    }
}
