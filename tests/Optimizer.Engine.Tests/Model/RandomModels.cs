using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Model;

/// <summary>A small model shape for tests.</summary>
internal sealed record ModelSpec(
    string Name, string ModelType = "llama", int Vocab = 61, int Hidden = 32, int Intermediate = 48, int Layers = 2,
    int Heads = 4, int KvHeads = 4, bool Tied = false, bool AttentionBias = false, DType DType = DType.F32,
    double RopeTheta = 10000, int? Bos = 1, int? HeadDim = null, string? RopeScaling = null)
{
    public override string ToString() => Name;
}

/// <summary>Builds random Llama-family checkpoints (seeded, small std) in an <see cref="InMemoryTensorSource"/>.</summary>
internal static class RandomModels
{
    public static ModelConfig Config(ModelSpec spec) => new()
    {
        ModelType = spec.ModelType,
        VocabSize = spec.Vocab,
        HiddenSize = spec.Hidden,
        IntermediateSize = spec.Intermediate,
        NumHiddenLayers = spec.Layers,
        NumAttentionHeads = spec.Heads,
        NumKeyValueHeads = spec.KvHeads,
        RmsNormEps = 1e-5,
        RopeTheta = spec.RopeTheta,
        MaxPositionEmbeddings = 256,
        TieWordEmbeddings = spec.Tied,
        AttentionBias = spec.AttentionBias ? true : null,
        BosTokenId = spec.Bos,
        HeadDimOverride = spec.HeadDim,
        RopeScaling = spec.RopeScaling is null ? null : System.Text.Json.JsonDocument.Parse(spec.RopeScaling).RootElement.Clone(),
    };

    /// <summary>Every tensor the config needs: linears and biases std 0.08, norms 1 ± 0.1 (q/k norms 1 ± 0.3), embeddings std 0.5.</summary>
    public static InMemoryTensorSource Build(ModelSpec spec, int seed, Action<TensorRole, int, float[]>? edit = null)
    {
        ModelConfig config = Config(spec);
        var random = new Random(seed);
        var source = new InMemoryTensorSource();
        foreach (var (role, layer, name, shape) in LlamaTensorNames.Expected(config))
        {
            long count = shape.Aggregate(1L, (a, b) => a * b);
            var values = new float[count];
            for (int i = 0; i < values.Length; i++)
            {
                double g = Gaussian(random);
                values[i] = role switch
                {
                    TensorRole.AttnNorm or TensorRole.FfnNorm or TensorRole.FinalNorm => (float)(1 + 0.1 * g),
                    TensorRole.QNorm or TensorRole.KNorm => (float)(1 + 0.3 * g),
                    TensorRole.TokenEmbedding => (float)(0.5 * g),
                    _ => (float)(0.08 * g),
                };
            }
            edit?.Invoke(role, layer, values);
            source.Add(name, spec.DType, shape, values);
        }
        return source;
    }

    /// <summary>Random token ids (seeded), <paramref name="batch"/> sequences of <paramref name="length"/>.</summary>
    public static int[][] Tokens(int vocab, int batch, int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, length).Select(_ => random.Next(vocab)).ToArray()).ToArray();
    }

    private static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
