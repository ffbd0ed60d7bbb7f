using System.Runtime.InteropServices;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Evaluation;

/// <summary>
/// Weight-only fake quantization as a tensor-source view: every 2-D float tensor (F32, F16 or BF16) of
/// <see cref="Source"/> is offered as F32 holding what <see cref="RoundTrip"/> makes of it (quantized and dequantized),
/// or its unchanged values where the scheme keeps it in float; every other tensor (norms, biases, non-float tensors)
/// passes through as stored. Tensors are round-tripped lazily when read, and the last one is kept, so a model loading
/// layer by layer costs one tensor of extra memory. Thread-safe. A view: disposing it does not dispose the source,
/// which must stay open while the view is used.
/// </summary>
public sealed class FakeQuantizedWeights : ITensorSource
{
    private readonly Dictionary<string, (TensorInfo Offered, TensorInfo Stored, bool RoundTripped)> _byName;
    private readonly IReadOnlyList<TensorInfo> _tensors;
    private readonly object _gate = new();
    private (string Name, float[] Values)? _cached;
    private bool _disposed;

    /// <summary>Creates the view of <paramref name="source"/> through <paramref name="roundTrip"/>.</summary>
    public FakeQuantizedWeights(ITensorSource source, IWeightRoundTrip roundTrip)
    {
        Source = source ?? throw new ArgumentNullException(nameof(source));
        RoundTrip = roundTrip ?? throw new ArgumentNullException(nameof(roundTrip));
        _byName = new Dictionary<string, (TensorInfo, TensorInfo, bool)>(StringComparer.Ordinal);
        var offered = new List<TensorInfo>();
        foreach (TensorInfo stored in source.Tensors)
        {
            bool candidate = stored.Shape.Length == 2 && DTypes.IsWeightFloat(stored.DType);
            TensorInfo info = candidate
                ? stored with { DType = DType.F32, Length = checked(stored.ElementCount * sizeof(float)) }
                : stored;
            _byName[stored.Name] = (info, stored, candidate);
            offered.Add(info);
        }
        _tensors = offered;
    }

    /// <summary>The wrapped weights.</summary>
    public ITensorSource Source { get; }

    /// <summary>The quantization scheme applied to 2-D tensors.</summary>
    public IWeightRoundTrip RoundTrip { get; }

    /// <inheritdoc />
    public IReadOnlyList<TensorInfo> Tensors => _tensors;

    /// <inheritdoc />
    public TensorInfo? Find(string name) => _byName.TryGetValue(name, out var entry) ? entry.Offered : null;

    /// <summary>
    /// The tensor's bytes: round-tripped 2-D tensors as little-endian F32 in chunks of at most
    /// <paramref name="maxChunk"/> bytes (whole elements), other tensors exactly as the source stores them.
    /// </summary>
    public void ReadBytes(TensorInfo tensor, ReadOnlySpanAction<byte, long> onChunk, int maxChunk = 1 << 30)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(onChunk);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_byName.TryGetValue(tensor.Name, out var entry))
            throw new ArgumentException($"Tensor '{tensor.Name}' is not in this source.", nameof(tensor));
        if (!entry.RoundTripped)
        {
            Source.ReadBytes(entry.Stored, onChunk, maxChunk);
            return;
        }
        float[] values = Values(entry.Stored);
        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(values.AsSpan());
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("F32 views are produced on little-endian hosts only.");
        int chunk = Math.Max(sizeof(float), maxChunk / sizeof(float) * sizeof(float));
        for (int offset = 0; offset < bytes.Length; offset += chunk)
            onChunk(bytes.Slice(offset, Math.Min(chunk, bytes.Length - offset)), offset);
    }

    /// <summary>Drops the cached tensor; the source stays open.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _cached = null;
        }
    }

    /// <summary>The round-tripped values of <paramref name="stored"/>, from the one-tensor cache or computed now.</summary>
    private float[] Values(TensorInfo stored)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_cached is { } hit && hit.Name == stored.Name) return hit.Values;
            float[] original = TensorData.ReadFloat32(Source, stored);
            var restored = new float[original.Length];
            bool changed = RoundTrip.TryRoundTrip(stored.Name, original, stored.Shape[0], stored.Shape[1], restored);
            float[] values = changed ? restored : original;
            _cached = (stored.Name, values);
            return values;
        }
    }
}
