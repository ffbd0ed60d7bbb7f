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
    }.ToDictionary(s => s.Name);

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
