using System.Runtime.InteropServices;
using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// A view of <see cref="ITensorSource"/> weights with a <see cref="TransformPlan"/> applied. Tensors the plan changes
/// are listed as F32 (same name and shape) and computed from the original bytes when first read, a whole layer at a
/// time; only the most recently used layer is kept. Every other tensor passes through unchanged (same
/// <see cref="TensorInfo"/>, same bytes, same dtype). Thread-safe. The view does not own the original source: disposing
/// it frees only its cache, and the original must outlive it.
/// </summary>
public sealed class TransformedWeights : ITensorSource
{
    private readonly ITensorSource _original;
    private readonly ModelConfig _config;
    private readonly TransformPlan _plan;
    private readonly Dictionary<string, (int Layer, TensorRole Role, TensorInfo Original, TensorInfo View)> _changed = new(StringComparer.Ordinal);
    private readonly IReadOnlyList<TensorInfo> _tensors;
    private readonly object _gate = new();
    private int _cachedLayer = -1;
    private Dictionary<string, byte[]> _cache = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>Creates the view; checks that the plan fits <paramref name="config"/> and that every changed tensor is a float tensor of the expected shape.</summary>
    /// <exception cref="OptimizerException"><see cref="ErrorCodes.TransformPlanMismatch"/>, <see cref="ErrorCodes.TensorMissing"/> or <see cref="ErrorCodes.TensorShapeMismatch"/>.</exception>
    public TransformedWeights(ITensorSource original, ModelConfig config, TransformPlan plan)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(plan);
        plan.CheckFits(config);
        _original = original;
        _config = config;
        _plan = plan;
        foreach (var layer in plan.Layers)
        {
            foreach (var role in LayerTransformer.Roles(layer, config))
            {
                string name = LlamaTensorNames.Name(role, layer.Layer, config);
                var info = original.Find(name) ?? throw new OptimizerException(ErrorCodes.TensorMissing, $"The weights have no tensor '{name}', which the transform plan changes.");
                long[] shape = LlamaTensorNames.ExpectedShape(role, config);
                if (!info.Shape.AsSpan().SequenceEqual(shape))
                    throw new OptimizerException(ErrorCodes.TensorShapeMismatch, $"Tensor '{name}' has shape {info.ShapeText}; the configuration implies [{string.Join(", ", shape)}].", info.File);
                if (!DTypes.IsWeightFloat(info.DType))
                    throw new OptimizerException(ErrorCodes.TransformPlanMismatch, $"Tensor '{name}' is {DTypes.SafetensorsName(info.DType)}; a transform needs F32, F16 or BF16.", info.File);
                var view = info with { DType = DType.F32, Offset = 0, Length = checked(info.ElementCount * sizeof(float)) };
                _changed.Add(name, (layer.Layer, role, info, view));
            }
        }
        _tensors = original.Tensors.Select(t => _changed.TryGetValue(t.Name, out var c) ? c.View : t).ToArray();
    }

    /// <summary>The plan this view applies.</summary>
    public TransformPlan Plan => _plan;

    /// <inheritdoc />
    public IReadOnlyList<TensorInfo> Tensors => _tensors;

    /// <summary>Whether the plan changes the tensor named <paramref name="name"/>.</summary>
    public bool IsChanged(string name) => _changed.ContainsKey(name);

    /// <inheritdoc />
    public TensorInfo? Find(string name) => _changed.TryGetValue(name, out var c) ? c.View : _original.Find(name);

    /// <inheritdoc />
    public void ReadBytes(TensorInfo tensor, ReadOnlySpanAction<byte, long> onChunk, int maxChunk = 1 << 30)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(onChunk);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChunk, 1);
        if (!_changed.TryGetValue(tensor.Name, out var changed))
        {
            _original.ReadBytes(tensor, onChunk, maxChunk);
            return;
        }
        byte[] bytes = LayerBytes(changed.Layer)[tensor.Name];
        int chunk = maxChunk >= sizeof(float) ? maxChunk / sizeof(float) * sizeof(float) : maxChunk;
        for (int offset = 0; offset < bytes.Length; offset += chunk)
            onChunk(bytes.AsSpan(offset, Math.Min(chunk, bytes.Length - offset)), offset);
    }

    /// <summary>The transformed tensors of <paramref name="layer"/> (computed now unless it is the cached layer).</summary>
    private Dictionary<string, byte[]> LayerBytes(int layer)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_cachedLayer == layer) return _cache;
            var transform = _plan.Layers[layer];
            var computed = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var (name, c) in _changed)
            {
                if (c.Layer != layer) continue;
                float[] values = TensorData.ReadFloat32(_original, c.Original);
                LayerTransformer.Apply(c.Role, values, transform, _config);
                computed.Add(name, ToLittleEndian(values));
            }
            _cache = computed;
            _cachedLayer = layer;
            return computed;
        }
    }

    private static byte[] ToLittleEndian(float[] values)
    {
        var bytes = new byte[checked(values.Length * sizeof(float))];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(bytes);
            return bytes;
        }
        for (int i = 0; i < values.Length; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        return bytes;
    }

    /// <summary>Drops the cached layer; the original source stays open.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _cache = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            _cachedLayer = -1;
        }
    }
}
