namespace Optimizer.Engine.Quantization.ErrorCompensation;

/// <summary>One weight already encoded in a ggml type (Hugging Face name and row order: q/k rows are not yet permuted).</summary>
public sealed record EncodedTensor(string Name, GgmlType Type, long Rows, long Cols, byte[] Bytes);

/// <summary>
/// Weights whose encodings were chosen ahead of the export (error-compensating rounding), seen as a round trip: a
/// tensor with an encoding decodes to exactly the values the GGUF file will hold, whatever float values it is given;
/// every other tensor goes through <see cref="Fallback"/> (the recipe's plain quantizers). The exporter writes the
/// encodings unchanged (<see cref="Formats.Gguf.LlamaGgufExporter"/>). Thread-safe once filled.
/// </summary>
public sealed class EncodedWeights : IWeightRoundTrip
{
    private readonly Dictionary<string, EncodedTensor> _tensors = new(StringComparer.Ordinal);

    /// <summary>Encodings to be added with <see cref="Add"/>; tensors without one go through <paramref name="fallback"/>.</summary>
    public EncodedWeights(GgufRoundTrip fallback)
    {
        Fallback = fallback ?? throw new ArgumentNullException(nameof(fallback));
    }

    /// <summary>The round trip of tensors without an encoding (and the recipe and types of all).</summary>
    public GgufRoundTrip Fallback { get; }

    /// <inheritdoc/>
    public string Name => Fallback.Name;

    /// <summary>The encodings by Hugging Face tensor name.</summary>
    public IReadOnlyDictionary<string, EncodedTensor> Tensors => _tensors;

    /// <summary>Adds (or replaces) the encoding of one tensor; its type must be the one the recipe gives it.</summary>
    public void Add(EncodedTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (Fallback.TypeOf(tensor.Name) != tensor.Type)
            throw new ArgumentException($"{tensor.Name} is encoded as {GgmlTypes.Name(tensor.Type)}, not as the recipe's type.", nameof(tensor));
        if (tensor.Bytes.LongLength != tensor.Rows * GgmlQuantizer.RowBytes(tensor.Type, tensor.Cols))
            throw new ArgumentException($"{tensor.Name}: {tensor.Bytes.LongLength} bytes do not hold {tensor.Rows} rows of {tensor.Cols}.", nameof(tensor));
        lock (_tensors) _tensors[tensor.Name] = tensor;
    }

    /// <inheritdoc/>
    public bool TryRoundTrip(string tensorName, ReadOnlySpan<float> values, long rows, long cols, Span<float> restored)
    {
        EncodedTensor? encoded;
        lock (_tensors) _tensors.TryGetValue(tensorName, out encoded);
        if (encoded is null) return Fallback.TryRoundTrip(tensorName, values, rows, cols, restored);
        if (encoded.Rows != rows || encoded.Cols != cols || restored.Length != rows * cols)
            throw new OptimizerException(ErrorCodes.QuantizationShapeInvalid,
                $"Tensor {tensorName}: encoded as {encoded.Rows} × {encoded.Cols}, asked for {rows} × {cols}.");
        GgmlQuantizer.DequantizeMatrix(encoded.Type, encoded.Bytes, rows, cols, restored);
        return true;
    }
}
