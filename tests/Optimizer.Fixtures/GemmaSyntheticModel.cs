using System.Text.Json;
using Optimizer.Engine.Formats;

namespace Optimizer.Fixtures;

/// <summary>The Gemma family a synthetic Gemma model is written as.</summary>
public enum GemmaFamily
{
    /// <summary><c>gemma2</c>: every second layer sliding, attention and final logit soft-capping.</summary>
    Gemma2,

    /// <summary><c>gemma3_text</c>: per-head q/k norms, five sliding layers of six with a local RoPE base, linear RoPE scaling on the global layers.</summary>
    Gemma3,
}

/// <summary>
/// A small random Gemma 2 / Gemma 3 text model in real Gemma proportions (head_dim 64 with 8 query heads over 4
/// key/value heads, so heads × head_dim ≠ hidden; tied embeddings; a sliding window shorter than test sequences),
/// with an optional planted massive activation on BOS: the BOS embedding alone carries a marker channel (the post
/// norms of the layers before the birth layer zero that channel, a stored γ of −1), one FFN neuron of the birth layer
/// reads only the marker (gate and up rows), and writes only the MA channel through down_proj, whose row of that
/// channel is otherwise zero; the post-FFN norm multiplier of that channel (1 + γ) sets the size. Same options, same bytes.
/// </summary>
public sealed record GemmaSyntheticOptions
{
    public GemmaFamily Family { get; init; } = GemmaFamily.Gemma2;
    public ulong Seed { get; init; } = 1;
    public int HiddenSize { get; init; } = 256;
    public int Layers { get; init; } = 4;
    public int Heads { get; init; } = 8;
    public int KeyValueHeads { get; init; } = 4;
    public int HeadDim { get; init; } = 64;
    public int IntermediateSize { get; init; } = 512;
    public int SlidingWindow { get; init; } = 6;
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000;
    public double RopeLocalBaseFreq { get; init; } = 10000;
    /// <summary>Gemma 3 only: linear RoPE factor of the global layers (1 = no rope_scaling).</summary>
    public double RopeLinearFactor { get; init; } = 1;
    public double? AttnLogitSoftcapping { get; init; }
    public double? FinalLogitSoftcapping { get; init; }
    public double? QueryPreAttnScalar { get; init; }
    public int? SlidingWindowPattern { get; init; }
    public DType WeightDType { get; init; } = DType.F32;

    /// <summary>
    /// γ outliers (channel, multiplier 1 + γ): on input_layernorm of layer 2 and on pre_feedforward_layernorm of the
    /// last layer (empty: none). The consumers are not compensated: the model simply has these norms.
    /// </summary>
    public IReadOnlyList<(int Layer, bool Attention, int Channel, double Multiplier)> GammaOutliers { get; init; } =
        new[] { (2, true, 9, 20.0), (-1, false, 150, 25.0) };

    /// <summary>Layer where the massive activation is born (its y8), or null for none.</summary>
    public int? MassiveLayer { get; init; } = 1;
    public int MassiveNeuron { get; init; } = 77;
    public int MassiveChannel { get; init; } = 67;
    public int MarkerChannel { get; init; } = 201;
    /// <summary>The post-FFN norm multiplier 1 + γ of the MA channel in the birth layer.</summary>
    public double MassiveMultiplier { get; init; } = 400;

    /// <summary>A Gemma 2 model: 4 layers (0 and 2 sliding), soft-caps 5 (attention, so that it acts on the random scores) and 30 (final, as Gemma 2 ships).</summary>
    public static GemmaSyntheticOptions Gemma2Model(ulong seed = 1) => new()
    {
        Family = GemmaFamily.Gemma2, Seed = seed, Layers = 4, AttnLogitSoftcapping = 5, FinalLogitSoftcapping = 30,
    };

    /// <summary>A Gemma 3 text model: 6 layers (layer 5 global), rope_theta 1e6 with linear factor 4 on the global layer, local base 1e4.</summary>
    public static GemmaSyntheticOptions Gemma3Model(ulong seed = 2) => new()
    {
        Family = GemmaFamily.Gemma3, Seed = seed, Layers = 6, RopeTheta = 1_000_000, RopeLinearFactor = 4,
    };
}

/// <summary>Generates and writes <see cref="GemmaSyntheticOptions"/> models (config.json, model.safetensors, byte-level tokenizer).</summary>
public static class GemmaSyntheticModel
{
    /// <summary>The Hugging Face config of <paramref name="o"/>.</summary>
    public static ModelConfig Config(GemmaSyntheticOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        bool g3 = o.Family == GemmaFamily.Gemma3;
        return new ModelConfig
        {
            Architectures = new[] { g3 ? "Gemma3ForCausalLM" : "Gemma2ForCausalLM" },
            ModelType = g3 ? ModelConfig.Gemma3Text : ModelConfig.Gemma2,
            VocabSize = ByteLevelVocabulary.Size,
            HiddenSize = o.HiddenSize,
            IntermediateSize = o.IntermediateSize,
            NumHiddenLayers = o.Layers,
            NumAttentionHeads = o.Heads,
            NumKeyValueHeads = o.KeyValueHeads,
            HeadDimOverride = o.HeadDim,
            RmsNormEps = o.RmsNormEps,
            RopeTheta = o.RopeTheta,
            MaxPositionEmbeddings = 512,
            TieWordEmbeddings = true,
            AttentionBias = false,
            HiddenAct = "gelu_pytorch_tanh",
            HiddenActivation = "gelu_pytorch_tanh",
            QueryPreAttnScalar = o.QueryPreAttnScalar ?? o.HeadDim,
            AttnLogitSoftcapping = o.AttnLogitSoftcapping,
            FinalLogitSoftcapping = o.FinalLogitSoftcapping,
            SlidingWindow = o.SlidingWindow,
            SlidingWindowPattern = g3 ? o.SlidingWindowPattern : null,
            RopeLocalBaseFreq = g3 ? o.RopeLocalBaseFreq : null,
            RopeScaling = g3 && o.RopeLinearFactor != 1
                ? JsonDocument.Parse($"{{\"rope_type\": \"linear\", \"factor\": {o.RopeLinearFactor.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}}}").RootElement.Clone()
                : null,
            BosTokenId = ByteLevelVocabulary.BosId,
            TorchDtype = o.WeightDType switch { DType.F16 => "float16", DType.BF16 => "bfloat16", _ => "float32" },
        };
    }

    /// <summary>Every tensor in Hugging Face names and layout, in <see cref="LlamaTensorNames.Expected"/> order.</summary>
    public static IReadOnlyList<SyntheticTensor> Tensors(GemmaSyntheticOptions o)
    {
        var config = Config(o);
        var random = new DeterministicRandom(o.Seed);
        var tensors = new List<SyntheticTensor>();
        foreach (var (role, layer, name, shape) in LlamaTensorNames.Expected(config))
        {
            long count = shape.Aggregate(1L, (a, b) => a * b);
            var values = new double[count];
            switch (role)
            {
                case TensorRole.TokenEmbedding:
                    random.FillNormal(values, 0.5);
                    break;
                case TensorRole.AttnNorm or TensorRole.FfnNorm or TensorRole.FinalNorm or TensorRole.PostAttnNorm or TensorRole.PostFfnNorm
                    or TensorRole.QNorm or TensorRole.KNorm:
                    for (int i = 0; i < values.Length; i++) values[i] = 0.6 * random.NextDouble() - 0.3;
                    break;
                default:
                    random.FillNormal(values, 1 / Math.Sqrt(shape[1]));
                    break;
            }
            if (o.MassiveLayer is int birth) Plant(o, config, role, layer, birth, values);
            foreach (var (gammaLayer, attention, channel, multiplier) in o.GammaOutliers)
                if (role == (attention ? TensorRole.AttnNorm : TensorRole.FfnNorm) && layer == (gammaLayer < 0 ? o.Layers + gammaLayer : gammaLayer))
                    values[channel] = multiplier - 1;
            WeightPrecision.Round(values, o.WeightDType);
            tensors.Add(new SyntheticTensor(name, o.WeightDType, shape, values.Select(v => (float)v).ToArray()));
        }
        return tensors;
    }

    /// <summary>Writes the model into <paramref name="folder"/> (created if missing).</summary>
    public static void Write(GemmaSyntheticOptions o, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        Directory.CreateDirectory(folder);
        AtomicFile.WriteText(Path.Combine(folder, "config.json"), Config(o).ToJson());
        SafetensorsWriter.Write(Path.Combine(folder, SyntheticModel.WeightsFileName), Tensors(o).Select(t => t.ToEntry()),
            new Dictionary<string, string> { ["format"] = "pt" });
        ByteLevelVocabulary.WriteTokenizerFiles(folder);
    }

    private static void Plant(GemmaSyntheticOptions o, ModelConfig config, TensorRole role, int layer, int birth, double[] values)
    {
        int c = config.HiddenSize, m = o.MarkerChannel, n = o.MassiveNeuron, ma = o.MassiveChannel, ffn = config.IntermediateSize;
        switch (role)
        {
            case TensorRole.TokenEmbedding:
                for (int token = 0; token < config.VocabSize; token++) values[(long)token * c + m] = 0;
                for (int i = 0; i < c; i++) values[(long)ByteLevelVocabulary.BosId * c + i] = 0;
                values[(long)ByteLevelVocabulary.BosId * c + m] = 4; // BOS is the marker alone
                break;
            case TensorRole.PostAttnNorm when layer <= birth:
            case TensorRole.PostFfnNorm when layer < birth:
                values[m] = -1; // multiplier 0: no layer before the birth FFN writes the marker channel
                break;
            case TensorRole.Gate when layer == birth:
            case TensorRole.Up when layer == birth:
                for (int i = 0; i < c; i++) values[(long)n * c + i] = 0;
                values[(long)n * c + m] = 1;
                break;
            case TensorRole.Down when layer == birth:
                for (int j = 0; j < ffn; j++) values[(long)ma * ffn + j] = 0;
                for (int i = 0; i < c; i++) values[(long)i * ffn + n] = 0;
                values[(long)ma * ffn + n] = 1;
                break;
            case TensorRole.PostFfnNorm when layer == birth:
                values[ma] = o.MassiveMultiplier - 1;
                break;
        }
    }
}
