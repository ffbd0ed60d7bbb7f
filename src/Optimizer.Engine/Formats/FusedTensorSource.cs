namespace Optimizer.Engine.Formats;

/// <summary>
/// A phi3 checkpoint seen with its fused projections split (<see cref="Phi3Names"/>): each <c>qkv_proj</c> is listed
/// as <c>q_proj</c>, <c>k_proj</c> and <c>v_proj</c> and each <c>gate_up_proj</c> as <c>gate_proj</c> and
/// <c>up_proj</c>, every part a contiguous run of the fused tensor's rows (same dtype, same file, its own byte range), so
/// nothing is copied: reading a part streams the fused tensor's bytes and passes on those of its rows. The fused names
/// themselves are hidden; every other tensor passes through unchanged. Thread-safe as the underlying source.
/// </summary>
public sealed class FusedTensorSource : ITensorSource
{
    private readonly ITensorSource _inner;
    private readonly bool _ownsInner;
    private readonly Dictionary<string, (TensorInfo Fused, long ByteStart)> _parts = new(StringComparer.Ordinal);
    private readonly HashSet<string> _fused = new(StringComparer.Ordinal);

    /// <summary>
    /// Splits the fused tensors of <paramref name="inner"/>, checked against <paramref name="config"/>: each must be
    /// present (<see cref="ErrorCodes.TensorMissing"/>), of the shape the config implies
    /// (<see cref="ErrorCodes.TensorShapeMismatch"/>) and hold the bytes its shape and dtype need. With
    /// <paramref name="ownsInner"/>, disposing this source disposes <paramref name="inner"/>.
    /// </summary>
    public FusedTensorSource(ITensorSource inner, ModelConfig config, bool ownsInner, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(config);
        _inner = inner;
        _ownsInner = ownsInner;
        var parts = new List<TensorInfo>();
        foreach (var (name, shape, split) in Phi3Names.Fused(config))
        {
            TensorInfo fused = inner.Find(name) ?? throw new OptimizerException(ErrorCodes.TensorMissing,
                $"The weights have no tensor '{name}', which a phi3 config requires (q, k and v are stored fused as qkv_proj, gate and up as gate_up_proj).", path);
            if (!fused.Shape.AsSpan().SequenceEqual(shape))
                throw new OptimizerException(ErrorCodes.TensorShapeMismatch,
                    $"Tensor '{name}' has shape {fused.ShapeText} but the config implies [{string.Join(", ", shape)}].", path is null ? fused.File : Path.Combine(path, fused.File));
            if (!DTypes.IsWeightFloat(fused.DType))
                throw new OptimizerException(ErrorCodes.UnsupportedDType,
                    $"Tensor '{name}' is {DTypes.SafetensorsName(fused.DType)}; weights must be F32, F16 or BF16.", path is null ? fused.File : Path.Combine(path, fused.File));
            long size = DTypes.SizeOf(fused.DType), cols = shape[1];
            if (fused.Length != checked(fused.ElementCount * size))
                throw new OptimizerException(ErrorCodes.TensorShapeMismatch,
                    $"Tensor '{name}' holds {fused.Length} bytes; shape {fused.ShapeText} of {DTypes.SafetensorsName(fused.DType)} needs {fused.ElementCount * size}.", fused.File);
            _fused.Add(name);
            foreach (var (role, firstRow, rows) in split)
            {
                string partName = LlamaTensorNames.Name(role, LayerOf(name));
                long start = firstRow * cols * size;
                var info = new TensorInfo(partName, fused.DType, new[] { rows, cols }, fused.File, fused.Offset + start, rows * cols * size);
                _parts.Add(partName, (fused, start));
                parts.Add(info);
            }
        }
        var tensors = inner.Tensors.Where(t => !_fused.Contains(t.Name) && !_parts.ContainsKey(t.Name)).Concat(parts).ToList();
        tensors.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    private readonly Dictionary<string, TensorInfo> _byName;

    /// <inheritdoc />
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>The source whose fused tensors this view splits.</summary>
    public ITensorSource Inner => _inner;

    /// <inheritdoc />
    public TensorInfo? Find(string name) => _byName.GetValueOrDefault(name);

    /// <inheritdoc />
    public void ReadBytes(TensorInfo tensor, ReadOnlySpanAction<byte, long> onChunk, int maxChunk = 1 << 30)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(onChunk);
        if (!_parts.TryGetValue(tensor.Name, out var part))
        {
            _inner.ReadBytes(tensor, onChunk, maxChunk);
            return;
        }
        long start = part.ByteStart, end = part.ByteStart + tensor.Length;
        _inner.ReadBytes(part.Fused, (chunk, offset) =>
        {
            long from = Math.Max(offset, start), to = Math.Min(offset + chunk.Length, end);
            if (from < to) onChunk(chunk[(int)(from - offset)..(int)(to - offset)], from - start);
        }, maxChunk);
    }

    /// <summary>Disposes the underlying source when this view owns it.</summary>
    public void Dispose()
    {
        if (_ownsInner) _inner.Dispose();
    }

    private static int LayerOf(string name)
    {
        const string prefix = "model.layers.";
        int end = name.IndexOf('.', prefix.Length);
        return int.Parse(name.AsSpan(prefix.Length, end - prefix.Length), System.Globalization.CultureInfo.InvariantCulture);
    }
}
