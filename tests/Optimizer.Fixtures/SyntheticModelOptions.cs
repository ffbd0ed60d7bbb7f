using System.Globalization;
using Optimizer.Engine.Formats;

namespace Optimizer.Fixtures;

/// <summary>
/// Everything that defines a synthetic model: shape, storage type, architecture flavour, seed and the planted outlier
/// mechanisms. The same options always produce byte-identical files.
/// </summary>
public sealed record SyntheticModelOptions
{
    /// <summary>Vocabulary of every synthetic model: 256 byte tokens plus BOS (<see cref="ByteLevelVocabulary"/>).</summary>
    public const int VocabSize = ByteLevelVocabulary.Size;

    /// <summary>Seed of all random weights.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Hidden (residual) size.</summary>
    public int HiddenSize { get; init; } = 64;

    /// <summary>Number of decoder layers.</summary>
    public int Layers { get; init; } = 4;

    /// <summary>Number of query heads.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Number of key/value heads (GQA when smaller than <see cref="Heads"/>).</summary>
    public int KeyValueHeads { get; init; } = 4;

    /// <summary>FFN intermediate size.</summary>
    public int IntermediateSize { get; init; } = 172;

    /// <summary>Element type of the stored weights: F32, F16 or BF16.</summary>
    public DType WeightDType { get; init; } = DType.F32;

    /// <summary>The <c>model_type</c> written (qwen2 adds q/k/v biases).</summary>
    public SyntheticArchitecture Architecture { get; init; } = SyntheticArchitecture.Llama;

    /// <summary>Whether <c>lm_head</c> shares the token embedding (no <c>lm_head.weight</c> is written).</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary>RMSNorm epsilon.</summary>
    public double RmsNormEps { get; init; } = 1e-5;

    /// <summary>RoPE base.</summary>
    public double RopeTheta { get; init; } = 10000.0;

    /// <summary>The <c>rope_scaling</c> object written to config.json as JSON text (e.g. Llama 3.1's llama3 scaling), or null.</summary>
    public string? RopeScaling { get; init; }

    /// <summary>phi3's <c>partial_rotary_factor</c> (null: key not written).</summary>
    public double? PartialRotaryFactor { get; init; }

    /// <summary>phi3's <c>sliding_window</c> (null: key not written).</summary>
    public int? SlidingWindow { get; init; }

    /// <summary>phi3's top-level <c>original_max_position_embeddings</c> (null: key not written).</summary>
    public int? OriginalMaxPositionEmbeddings { get; init; }

    /// <summary>The <c>max_position_embeddings</c> written to config.json.</summary>
    public int MaxPositionEmbeddings { get; init; } = 2048;

    /// <summary>The planted massive activation, or null for none.</summary>
    public MassiveActivationPlant? MassiveActivation { get; init; }

    /// <summary>Planted γ outlier channels (empty for none).</summary>
    public IReadOnlyList<GammaOutlierPlant> GammaOutliers { get; init; } = Array.Empty<GammaOutlierPlant>();

    /// <summary>Planted OTCs in W_q (empty for none).</summary>
    public IReadOnlyList<QueryOutlierPlant> QueryOutliers { get; init; } = Array.Empty<QueryOutlierPlant>();

    /// <summary>Size of one attention head.</summary>
    public int HeadDim => Heads > 0 ? HiddenSize / Heads : 0;

    /// <summary>Whether anything is planted.</summary>
    public bool HasPlants => MassiveActivation is not null || GammaOutliers.Count > 0 || QueryOutliers.Count > 0;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid or conflicting option.</summary>
    public void Validate()
    {
        Range(HiddenSize, 8, 8192, nameof(HiddenSize));
        Range(Layers, 1, 256, nameof(Layers));
        Range(Heads, 1, HiddenSize, nameof(Heads));
        Range(KeyValueHeads, 1, Heads, nameof(KeyValueHeads));
        Range(IntermediateSize, 2, 65536, nameof(IntermediateSize));
        Range(MaxPositionEmbeddings, 1, 1 << 24, nameof(MaxPositionEmbeddings));
        if (HiddenSize % Heads != 0)
            throw new ArgumentException($"Hidden size {HiddenSize} is not a multiple of the {Heads} heads.", nameof(Heads));
        if (HeadDim % 2 != 0)
            throw new ArgumentException($"The head size {HeadDim} must be even for rotary embeddings.", nameof(Heads));
        if (Heads % KeyValueHeads != 0)
            throw new ArgumentException($"{Heads} heads are not a multiple of {KeyValueHeads} key/value heads.", nameof(KeyValueHeads));
        if (WeightDType is not (DType.F32 or DType.F16 or DType.BF16))
            throw new ArgumentException($"Weights can be stored as F32, F16 or BF16, not {WeightDType}.", nameof(WeightDType));
        if (!Enum.IsDefined(Architecture))
            throw new ArgumentException($"Unknown architecture {Architecture}.", nameof(Architecture));
        if (!(RmsNormEps > 0 && RmsNormEps < 1))
            throw new ArgumentException($"RMS norm epsilon {RmsNormEps} must be in (0, 1).", nameof(RmsNormEps));
        if (!(RopeTheta > 0) || double.IsInfinity(RopeTheta))
            throw new ArgumentException($"RoPE theta {RopeTheta} must be a positive number.", nameof(RopeTheta));
        if (GammaOutliers is null) throw new ArgumentException("GammaOutliers must not be null.", nameof(GammaOutliers));
        if (QueryOutliers is null) throw new ArgumentException("QueryOutliers must not be null.", nameof(QueryOutliers));

        MassiveActivation?.Validate(Layers, HiddenSize, IntermediateSize);
        var gammaChannels = new HashSet<(int, PlantedNorm, int)>();
        foreach (var plant in GammaOutliers)
        {
            plant.Validate(Layers, HiddenSize);
            foreach (int c in plant.Channels)
            {
                if (!gammaChannels.Add((plant.Layer, plant.Norm, c)))
                    throw new ArgumentException($"γ channel {c} of layer {plant.Layer} ({plant.Norm}) is planted twice.", nameof(GammaOutliers));
                if (MassiveActivation is { } ma && c == ma.Channel && plant.Layer > ma.Layer)
                    throw new ArgumentException(
                        $"γ outlier channel {c} in layer {plant.Layer} is the massive-activation channel, which the MA passes through " +
                        "there: the norm would turn it into a second massive activation.", nameof(GammaOutliers));
            }
        }
        var queryRows = new HashSet<(int, int)>();
        var queryColumns = new HashSet<(int, int)>();
        foreach (var plant in QueryOutliers)
        {
            plant.Validate(Layers, HiddenSize, Heads, HeadDim);
            bool rows = plant.Reading == QueryOutlierReading.OutputRows;
            foreach (int i in rows ? plant.ScaledRows(HeadDim) : plant.Indices)
            {
                if (!(rows ? queryRows : queryColumns).Add((plant.Layer, i)))
                    throw new ArgumentException($"q_proj {(rows ? "row" : "column")} {i} of layer {plant.Layer} is planted twice.", nameof(QueryOutliers));
            }
        }
    }

    /// <summary>The Hugging Face configuration these options describe.</summary>
    public ModelConfig ToModelConfig()
    {
        bool qwen = Architecture == SyntheticArchitecture.Qwen2, qwen3 = Architecture == SyntheticArchitecture.Qwen3, phi3 = Architecture == SyntheticArchitecture.Phi3;
        return new ModelConfig
        {
            Architectures = new[] { qwen ? "Qwen2ForCausalLM" : qwen3 ? "Qwen3ForCausalLM" : phi3 ? "Phi3ForCausalLM" : "LlamaForCausalLM" },
            ModelType = qwen ? "qwen2" : qwen3 ? "qwen3" : phi3 ? "phi3" : "llama",
            PartialRotaryFactor = PartialRotaryFactor,
            SlidingWindow = SlidingWindow,
            OriginalMaxPositionEmbeddings = OriginalMaxPositionEmbeddings,
            HeadDimOverride = qwen3 ? HeadDim : null,
            RopeScaling = RopeScaling is null ? null : System.Text.Json.JsonDocument.Parse(RopeScaling).RootElement.Clone(),
            VocabSize = VocabSize,
            HiddenSize = HiddenSize,
            IntermediateSize = IntermediateSize,
            NumHiddenLayers = Layers,
            NumAttentionHeads = Heads,
            NumKeyValueHeads = KeyValueHeads,
            RmsNormEps = RmsNormEps,
            RopeTheta = RopeTheta,
            MaxPositionEmbeddings = MaxPositionEmbeddings,
            TieWordEmbeddings = TieWordEmbeddings,
            AttentionBias = qwen || phi3 ? null : false,
            HiddenAct = "silu",
            BosTokenId = ByteLevelVocabulary.BosId,
            TorchDtype = WeightDType switch
            {
                DType.F16 => "float16",
                DType.BF16 => "bfloat16",
                _ => "float32",
            },
        };
    }

    /// <summary>A short description, e.g. <c>llama h64 L4 H4/4 I172 F32 seed 1</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Architecture.ToString().ToLowerInvariant()} h{HiddenSize} L{Layers} H{Heads}/{KeyValueHeads} I{IntermediateSize} {WeightDType}{(TieWordEmbeddings ? " tied" : "")} seed {Seed}" +
        $"{(MassiveActivation is null ? "" : " +MA")}{(GammaOutliers.Count == 0 ? "" : " +γ")}{(QueryOutliers.Count == 0 ? "" : " +OTC")}");

    private static void Range(int value, int min, int max, string name)
    {
        if (value < min || value > max) throw new ArgumentException($"{name} {value} is outside {min}..{max}.", name);
    }
}
