using System.Runtime.InteropServices;

namespace Optimizer.Engine.Formats;

/// <summary>
/// A tensor to be written by <see cref="SafetensorsWriter"/>: its name, type and shape, and a callback that writes
/// exactly <see cref="ByteLength"/> little-endian bytes, so that large tensors can be streamed.
/// </summary>
public sealed class SafetensorsEntry
{
    public SafetensorsEntry(string name, DType dtype, long[] shape, Action<Stream> writeData)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        WriteData = writeData;
        long n = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw new ArgumentException($"Tensor '{name}' has a negative dimension.", nameof(shape));
            n = checked(n * d);
        }
        ByteLength = checked(n * DTypes.SizeOf(dtype));
    }

    public string Name { get; }
    public DType DType { get; }
    public long[] Shape { get; }
    public long ByteLength { get; }
    public Action<Stream> WriteData { get; }

    /// <summary>An F32 tensor from managed data (length must equal the product of the shape).</summary>
    public static SafetensorsEntry FromFloats(string name, float[] data, params long[] shape)
    {
        var entry = new SafetensorsEntry(name, DType.F32, shape, s => s.Write(MemoryMarshal.AsBytes(data.AsSpan())));
        if (entry.ByteLength != (long)data.Length * sizeof(float))
            throw new ArgumentException($"Tensor '{name}' has {data.Length} values but shape [{string.Join(", ", shape)}].", nameof(data));
        return entry;
    }

    /// <summary>A tensor of any type from raw little-endian bytes.</summary>
    public static SafetensorsEntry FromBytes(string name, DType dtype, byte[] bytes, params long[] shape)
    {
        var entry = new SafetensorsEntry(name, dtype, shape, s => s.Write(bytes));
        if (entry.ByteLength != bytes.Length)
            throw new ArgumentException($"Tensor '{name}' has {bytes.Length} bytes but its shape and type need {entry.ByteLength}.", nameof(bytes));
        return entry;
    }
}
