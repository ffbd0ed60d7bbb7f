using Optimizer.Engine.Formats;

namespace Optimizer.Fixtures;

/// <summary>
/// Builds small random Llama-family models with planted outlier mechanisms (a super-weight massive activation on BOS,
/// γ outlier channels, OTCs in W_q) and writes them as Hugging Face folders with a <see cref="SyntheticGroundTruth"/>.
/// Fluent: every <c>With…</c> call replaces part of <see cref="Options"/> and returns the builder. Invalid options throw
/// <see cref="ArgumentException"/> at <see cref="Generate"/>/<see cref="Build"/>. Same options, same bytes.
/// </summary>
/// <example>
/// <code>
/// var truth = new SyntheticModelBuilder()
///     .WithSeed(7).WithShape(hiddenSize: 64, layers: 4, heads: 4)
///     .WithMassiveActivation(layer: 1, neuron: 40, channel: 19)
///     .WithGammaOutliers(layer: 2, PlantedNorm.Attention, new[] { 9, 37 }, scale: 30)
///     .Build(folder);
/// </code>
/// </example>
public sealed partial class SyntheticModelBuilder
{
    /// <summary>A builder with default options (clean llama, hidden 64, 4 layers, F32, seed 1).</summary>
    public SyntheticModelBuilder() : this(new SyntheticModelOptions()) { }

    /// <summary>A builder starting from <paramref name="options"/>.</summary>
    public SyntheticModelBuilder(SyntheticModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
    }

    /// <summary>The options built so far.</summary>
    public SyntheticModelOptions Options { get; private set; }

    /// <summary>Sets the weight seed.</summary>
    public SyntheticModelBuilder WithSeed(ulong seed) => Set(Options with { Seed = seed });

    /// <summary>
    /// Sets the shape. Key/value heads default to <paramref name="heads"/> (no GQA); the intermediate size defaults to
    /// 8/3 of the hidden size rounded up to a multiple of 4.
    /// </summary>
    public SyntheticModelBuilder WithShape(int hiddenSize, int layers, int heads, int? keyValueHeads = null, int? intermediateSize = null) =>
        Set(Options with
        {
            HiddenSize = hiddenSize,
            Layers = layers,
            Heads = heads,
            KeyValueHeads = keyValueHeads ?? heads,
            IntermediateSize = intermediateSize ?? DefaultIntermediateSize(hiddenSize),
        });

    /// <summary>Sets the storage type of all weights (F32, F16 or BF16).</summary>
    public SyntheticModelBuilder WithWeightDType(DType dtype) => Set(Options with { WeightDType = dtype });

    /// <summary>Sets the architecture (llama, or qwen2 with q/k/v biases).</summary>
    public SyntheticModelBuilder WithArchitecture(SyntheticArchitecture architecture) => Set(Options with { Architecture = architecture });

    /// <summary>Ties (or unties) lm_head to the token embedding.</summary>
    public SyntheticModelBuilder WithTiedEmbeddings(bool tied = true) => Set(Options with { TieWordEmbeddings = tied });

    /// <summary>Sets the RMSNorm epsilon.</summary>
    public SyntheticModelBuilder WithRmsNormEps(double eps) => Set(Options with { RmsNormEps = eps });

    /// <summary>Sets the RoPE base.</summary>
    public SyntheticModelBuilder WithRopeTheta(double theta) => Set(Options with { RopeTheta = theta });

    /// <summary>Writes <paramref name="json"/> as config.json's <c>rope_scaling</c> (null: none).</summary>
    public SyntheticModelBuilder WithRopeScaling(string? json) => Set(Options with { RopeScaling = json });

    /// <summary>
    /// Llama 3.1's <c>rope_scaling</c> (factor 8, low 1, high 4) with an original context of 256, so that at θ = 10⁴
    /// and 16-dimensional heads the RoPE pairs fall in all three bands (kept, blended, divided by 8).
    /// </summary>
    public const string Llama3RopeScaling = """{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":256}""";

    /// <summary>
    /// Writes phi3's keys: <c>partial_rotary_factor</c>, <c>sliding_window</c> and the top-level
    /// <c>original_max_position_embeddings</c> (null: the key is not written). Use with <see cref="SyntheticArchitecture.Phi3"/>.
    /// </summary>
    public SyntheticModelBuilder WithPhi3Keys(double? partialRotaryFactor = null, int? slidingWindow = null, int? originalMaxPositionEmbeddings = null) =>
        Set(Options with { PartialRotaryFactor = partialRotaryFactor, SlidingWindow = slidingWindow, OriginalMaxPositionEmbeddings = originalMaxPositionEmbeddings });

    /// <summary>Sets <c>max_position_embeddings</c>.</summary>
    public SyntheticModelBuilder WithMaxPositionEmbeddings(int length) => Set(Options with { MaxPositionEmbeddings = length });

    /// <summary>
    /// A phi3 <c>longrope</c> <c>rope_scaling</c> for <paramref name="pairs"/> rotary pairs: short factors 1 + 0.5·i/pairs
    /// (1 … 1.5), long factors 1 + 6·i/pairs, as the trained ones grow from the high to the low frequencies.
    /// </summary>
    public static string LongropeScaling(int pairs)
    {
        string List(double top) => string.Join(",", Enumerable.Range(0, pairs).Select(i => (1 + top * i / pairs).ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        return $$"""{"type":"longrope","short_factor":[{{List(0.5)}}],"long_factor":[{{List(6)}}]}""";
    }

    /// <summary>Plants (or replaces) the massive activation.</summary>
    public SyntheticModelBuilder WithMassiveActivation(MassiveActivationPlant plant)
    {
        ArgumentNullException.ThrowIfNull(plant);
        return Set(Options with { MassiveActivation = plant });
    }

    /// <summary>Plants a massive activation in <paramref name="layer"/>, FFN neuron <paramref name="neuron"/>, residual channel <paramref name="channel"/>.</summary>
    public SyntheticModelBuilder WithMassiveActivation(int layer, int neuron, int channel, double residualValue = 2000, double superActivation = 1000) =>
        WithMassiveActivation(new MassiveActivationPlant(layer, neuron, channel) { ResidualValue = residualValue, SuperActivation = superActivation });

    /// <summary>Removes the massive activation.</summary>
    public SyntheticModelBuilder WithoutMassiveActivation() => Set(Options with { MassiveActivation = null });

    /// <summary>Adds γ outlier channels.</summary>
    public SyntheticModelBuilder WithGammaOutliers(GammaOutlierPlant plant)
    {
        ArgumentNullException.ThrowIfNull(plant);
        return Set(Options with { GammaOutliers = Options.GammaOutliers.Append(plant).ToArray() });
    }

    /// <summary>Adds γ outlier <paramref name="channels"/> to a norm of <paramref name="layer"/>.</summary>
    public SyntheticModelBuilder WithGammaOutliers(int layer, PlantedNorm norm, IReadOnlyList<int> channels, double scale = 30, bool compensateConsumers = true) =>
        WithGammaOutliers(new GammaOutlierPlant(layer, norm, channels, scale) { CompensateConsumers = compensateConsumers });

    /// <summary>Adds OTCs in W_q.</summary>
    public SyntheticModelBuilder WithQueryOutliers(QueryOutlierPlant plant)
    {
        ArgumentNullException.ThrowIfNull(plant);
        return Set(Options with { QueryOutliers = Options.QueryOutliers.Append(plant).ToArray() });
    }

    /// <summary>Generates the model in memory without writing anything.</summary>
    public SyntheticModel Generate() => SyntheticModelGenerator.Generate(Options);

    /// <summary>Generates the model, writes it into <paramref name="folder"/> and returns its ground truth.</summary>
    public SyntheticGroundTruth Build(string folder)
    {
        var model = Generate();
        model.WriteTo(folder);
        return model.GroundTruth;
    }

    /// <summary>8/3 × <paramref name="hiddenSize"/> rounded up to a multiple of 4 (Llama's FFN ratio).</summary>
    public static int DefaultIntermediateSize(int hiddenSize) => (int)((8L * hiddenSize + 11) / 12 * 4);

    private SyntheticModelBuilder Set(SyntheticModelOptions options)
    {
        Options = options;
        return this;
    }
}
