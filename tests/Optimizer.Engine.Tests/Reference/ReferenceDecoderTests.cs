using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Engine.Tests.Model;

namespace Optimizer.Engine.Tests.Reference;

/// <summary>The TorchSharp decoder agrees with the float64 reference on small random models of every supported shape.</summary>
public class ReferenceDecoderTests
{
    public static TheoryData<string> Specs => new(Cases.Keys);

    private static readonly Dictionary<string, ModelSpec> Cases = new[]
    {
        new ModelSpec("mha-f32"),
        new ModelSpec("gqa-f16", Heads: 4, KvHeads: 2, DType: DType.F16),
        new ModelSpec("mqa-bf16", Heads: 4, KvHeads: 1, DType: DType.BF16, RopeTheta: 500000),
        new ModelSpec("qwen2-bias-bf16", ModelType: "qwen2", Heads: 4, KvHeads: 2, Tied: true, DType: DType.BF16),
        new ModelSpec("tied-f32", Tied: true, Layers: 3),
        new ModelSpec("llama-attention-bias-f16", AttentionBias: true, DType: DType.F16, Hidden: 48, Heads: 3, KvHeads: 3),
        new ModelSpec("llama3-rope-scaling-bf16", Heads: 2, KvHeads: 1, DType: DType.BF16, RopeTheta: 50, Layers: 2, RopeScaling: Llama3Scaling),
        new ModelSpec("yarn-rope-scaling-f32", ModelType: "qwen3", Heads: 2, KvHeads: 1, HeadDim: 16, RopeTheta: 10000, RopeScaling: """{"rope_type":"yarn","factor":4.0,"original_max_position_embeddings":64}"""),
        new ModelSpec("linear-rope-scaling-f32", Heads: 2, KvHeads: 2, RopeTheta: 50, RopeScaling: """{"rope_type":"linear","factor":4.0}"""),
        new ModelSpec("qwen3-qk-norm-bf16", ModelType: "qwen3", Heads: 4, KvHeads: 2, HeadDim: 16, Tied: true, DType: DType.BF16),
    }.ToDictionary(s => s.Name);

    /// <summary>Llama 3.1's scaling with a short original context so that, at θ = 50 and 16-dimensional heads, the pairs fall in all three bands.</summary>
    internal const string Llama3Scaling = """{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":32}""";

    /// <summary>
    /// The scaled RoPE changes the logits far beyond the reference tolerance, so the reference test above would notice an
    /// engine that ignored <c>rope_scaling</c>; and the qwen3 q/k norms likewise.
    /// </summary>
    [Theory]
    [InlineData("llama3-rope-scaling-bf16")]
    [InlineData("linear-rope-scaling-f32")]
    [InlineData("yarn-rope-scaling-f32")]
    [InlineData("qwen3-qk-norm-bf16")]
    public void FamilyFeaturesChangeTheLogits(string name)
    {
        ModelSpec spec = Cases[name];
        int[][] batch = RandomModels.Tokens(spec.Vocab, batch: 1, length: 9, seed: 3);
        using var source = RandomModels.Build(spec, seed: name.Length * 7919);
        ModelConfig config = RandomModels.Config(spec);
        var reference = new ReferenceDecoder(config, source);
        double[][] with = reference.Logits(batch[0]);
        ModelConfig plain = RandomModels.Config(spec with { RopeScaling = null });
        if (spec.ModelType == "qwen3" && spec.RopeScaling is null)
        {
            // The same weights with every q/k norm γ set to 1 and the norm kept: still differs because γ spreads ±0.3.
            using var flat = RandomModels.Build(spec, seed: name.Length * 7919, (role, _, values) =>
            {
                if (role is TensorRole.QNorm or TensorRole.KNorm) Array.Fill(values, 1f);
            });
            AssertDiffers(with, new ReferenceDecoder(config, flat).Logits(batch[0]));
        }
        else
        {
            AssertDiffers(with, new ReferenceDecoder(plain, source).Logits(batch[0]));
        }
    }

    private static void AssertDiffers(double[][] a, double[][] b)
    {
        double maxAbs = a.SelectMany(r => r).Max(Math.Abs), maxDiff = 0;
        for (int t = 0; t < a.Length; t++)
            for (int v = 0; v < a[t].Length; v++) maxDiff = Math.Max(maxDiff, Math.Abs(a[t][v] - b[t][v]));
        Assert.True(maxDiff / maxAbs > 1e-2, $"relative change {maxDiff / maxAbs:E3} is too small to tell the feature apart");
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void LogitsMatchFloat64Reference(string name)
    {
        ModelSpec spec = Cases[name];
        ModelConfig config = RandomModels.Config(spec);
        using var source = RandomModels.Build(spec, seed: name.Length * 7919);
        int[][] batch = RandomModels.Tokens(spec.Vocab, batch: 2, length: 9, seed: 3);

        using var model = LlamaModel.Create(config, source, new ModelOptions());
        using var logits = model.Forward(batch);
        Assert.Equal(new long[] { 2, 9, spec.Vocab }, logits.shape);
        float[] actual = logits.data<float>().ToArray();

        var reference = new ReferenceDecoder(config, source);
        double maxAbs = 0, maxDiff = 0;
        for (int b = 0; b < batch.Length; b++)
        {
            double[][] expected = reference.Logits(batch[b]);
            for (int t = 0; t < expected.Length; t++)
            {
                for (int v = 0; v < spec.Vocab; v++)
                {
                    double e = expected[t][v];
                    maxAbs = Math.Max(maxAbs, Math.Abs(e));
                    maxDiff = Math.Max(maxDiff, Math.Abs(e - actual[(b * 9 + t) * spec.Vocab + v]));
                }
            }
        }
        Assert.True(maxAbs > 0.1, $"logits too small to be a meaningful check ({maxAbs})");
        Assert.True(maxDiff / maxAbs <= 1e-4, $"max |Δlogit| / max |logit| = {maxDiff / maxAbs:E3} (max |logit| {maxAbs:F3})");
    }
}
