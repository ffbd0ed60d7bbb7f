using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Model;

/// <summary>
/// An <see cref="ITensorSource"/> over managed byte arrays, for unit tests. Values are encoded as F32, F16 or BF16
/// (round to nearest even). <see cref="ForcedChunk"/> makes <see cref="ReadBytes"/> deliver small, unaligned chunks.
/// </summary>
internal sealed class InMemoryTensorSource : ITensorSource
{
    private readonly SortedDictionary<string, (TensorInfo Info, byte[] Bytes)> _tensors = new(StringComparer.Ordinal);

    /// <summary>When set, the chunk size used by <see cref="ReadBytes"/> regardless of the caller's maximum.</summary>
    public int? ForcedChunk { get; set; }

    /// <summary>Number of <see cref="ReadBytes"/> calls per tensor name.</summary>
    public Dictionary<string, int> Reads { get; } = new(StringComparer.Ordinal);

    public IReadOnlyList<TensorInfo> Tensors => _tensors.Values.Select(v => v.Info).ToList();

    public TensorInfo? Find(string name) => _tensors.TryGetValue(name, out var entry) ? entry.Info : null;

    /// <summary>Adds (or replaces) a tensor, encoding <paramref name="values"/> as <paramref name="dtype"/>.</summary>
    public void Add(string name, DType dtype, long[] shape, float[] values)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != values.Length) throw new ArgumentException($"{name}: {values.Length} values for shape [{string.Join(",", shape)}].");
        int size = DTypes.SizeOf(dtype);
        var bytes = new byte[values.Length * size];
        for (int i = 0; i < values.Length; i++)
        {
            var dest = bytes.AsSpan(i * size, size);
            switch (dtype)
            {
                case DType.F32: BitConverter.TryWriteBytes(dest, values[i]); break;
                case DType.F16: BitConverter.TryWriteBytes(dest, BitConverter.HalfToUInt16Bits((Half)values[i])); break;
                case DType.BF16: BitConverter.TryWriteBytes(dest, ToBFloat16(values[i])); break;
                default: throw new ArgumentException($"Unsupported test dtype {dtype}.");
            }
        }
        AddRaw(name, dtype, shape, bytes);
    }

    /// <summary>Adds a tensor from raw little-endian bytes (no checks: for tests of bad input).</summary>
    public void AddRaw(string name, DType dtype, long[] shape, byte[] bytes)
        => _tensors[name] = (new TensorInfo(name, dtype, shape, "model.safetensors", 0, bytes.Length), bytes);

    /// <summary>The stored bytes of a tensor.</summary>
    public byte[] RawBytes(string name) => _tensors[name].Bytes;

    /// <summary>Removes a tensor.</summary>
    public void Remove(string name) => _tensors.Remove(name);

    public void ReadBytes(TensorInfo tensor, ReadOnlySpanAction<byte, long> onChunk, int maxChunk = 1 << 30)
    {
        byte[] bytes = _tensors[tensor.Name].Bytes;
        Reads[tensor.Name] = Reads.GetValueOrDefault(tensor.Name) + 1;
        int chunk = ForcedChunk ?? maxChunk;
        for (int offset = 0; offset < bytes.Length; offset += chunk)
        {
            onChunk(bytes.AsSpan(offset, Math.Min(chunk, bytes.Length - offset)), offset);
        }
    }

    public void Dispose() => _tensors.Clear();

    private static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }
}
