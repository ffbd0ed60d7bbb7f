using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Quantization.Imatrix;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// Weight-only fake quantization for a GGUF recipe: each tensor is encoded in the type
/// <see cref="QuantizationRecipe.TypeFor"/> picks for it and decoded again, so evaluation sees exactly the values the
/// GGUF file will hold (the Q/K row permutation of the writer moves whole rows and does not change them). With an
/// importance matrix, each tensor that has an entry is quantized with its per-column weights, as the exporter does.
/// </summary>
public sealed class GgufRoundTrip : IWeightRoundTrip
{
    private readonly Dictionary<string, (TensorRole Role, int Layer, long[] Shape)> _tensors;
    private readonly ModelConfig _config;
    private readonly Dictionary<string, float[]> _importance = new(StringComparer.Ordinal);

    /// <summary>
    /// A round trip of <paramref name="recipe"/> for the tensors of a model with <paramref name="config"/>, optionally
    /// with an importance matrix that describes the inputs of the weights being quantized (GGUF names).
    /// </summary>
    public GgufRoundTrip(QuantizationRecipe recipe, ModelConfig config, ImportanceMatrix? importance = null)
    {
        Recipe = recipe ?? throw new ArgumentNullException(nameof(recipe));
        _config = config ?? throw new ArgumentNullException(nameof(config));
        _tensors = LlamaTensorNames.Expected(config).ToDictionary(t => t.Name, t => (t.Role, t.Layer, t.Shape), StringComparer.Ordinal);
        Importance = importance;
        if (importance is null) return;
        foreach (var (name, t) in _tensors)
        {
            if (importance.TryGetQuantWeights(LlamaGgufNames.Name(t.Role, Math.Max(0, t.Layer)), out float[] weights)) _importance.Add(name, weights);
        }
    }

    /// <summary>The importance matrix the tensors are quantized with, or null.</summary>
    public ImportanceMatrix? Importance { get; }

    /// <summary>The recipe.</summary>
    public QuantizationRecipe Recipe { get; }

    /// <inheritdoc/>
    public string Name => Recipe.Text;

    /// <summary>The type the GGUF file stores <paramref name="tensorName"/> in, or null for a name the model does not have.</summary>
    public GgmlType? TypeOf(string tensorName) =>
        _tensors.TryGetValue(tensorName, out var t)
            ? Recipe.TypeFor(tensorName, LlamaGgufNames.TypeRole(t.Role, _config), t.Layer, t.Shape, _config, withImportance: Importance is not null)
            : null;

    /// <summary>
    /// Whether the importance matrix changes any stored bytes: some tensor with an entry is stored in a type whose
    /// quantizer uses it (Q8_0, F16, BF16, F32 ignore it, as ggml does). False without a matrix.
    /// </summary>
    public bool UsesImportance => _importance.Keys.Any(name => TypeOf(name) is GgmlType type && !GgmlQuantizer.IgnoresImportance(type));

    /// <summary>
    /// The bytes of tensor data a GGUF file in these types holds: every expected tensor of the model, or only those
    /// <paramref name="include"/> accepts (role, layer, shape); tensors without a quantized type count as F32.
    /// </summary>
    public long TensorBytes(Func<TensorRole, int, long[], bool>? include = null) =>
        _tensors.Where(t => include?.Invoke(t.Value.Role, t.Value.Layer, t.Value.Shape) ?? true)
            .Sum(t => GgmlTypes.ByteCount(TypeOf(t.Key) ?? GgmlType.F32, t.Value.Shape.Aggregate(1L, (a, b) => a * b)));

    /// <inheritdoc/>
    public bool TryRoundTrip(string tensorName, ReadOnlySpan<float> values, long rows, long cols, Span<float> restored)
    {
        if (TypeOf(tensorName) is not GgmlType type || type == GgmlType.F32)
            return false;
        if (values.Length != restored.Length)
            throw new OptimizerException(ErrorCodes.QuantizationShapeInvalid,
                $"Tensor {tensorName}: {values.Length} values but room for {restored.Length} restored values.");
        byte[] encoded = GgmlQuantizer.QuantizeMatrix(type, values, rows, cols, _importance.GetValueOrDefault(tensorName));
        GgmlQuantizer.DequantizeMatrix(type, encoded, rows, cols, restored);
        return true;
    }
}
