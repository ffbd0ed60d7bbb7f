using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Formats;

/// <summary>
/// Reads stored tensors into managed float arrays (for reference implementations and small tensors) and converts
/// between float and the 16-bit float formats: IEEE half (F16) and bfloat16 (BF16, the top 16 bits of a float).
/// Narrowing conversions round to nearest, ties to even.
/// </summary>
public static class TensorData
{
    /// <summary>
    /// The values of an F32, F16 or BF16 tensor as floats, in storage order. Other types fail with
    /// <see cref="ErrorCodes.UnsupportedDType"/>; tensors beyond the largest managed array with
    /// <see cref="ErrorCodes.TensorTooLarge"/>.
    /// </summary>
    public static float[] ReadFloat32(ITensorSource source, TensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(tensor);
        if (!DTypes.IsWeightFloat(tensor.DType))
            throw new OptimizerException(ErrorCodes.UnsupportedDType,
                $"Tensor '{tensor.Name}' is {DTypes.SafetensorsName(tensor.DType)}; only F32, F16 and BF16 can be read as floats.", tensor.File);
        long count = tensor.ElementCount;
        if (count > Array.MaxLength)
            throw new OptimizerException(ErrorCodes.TensorTooLarge,
                $"Tensor '{tensor.Name}' has {count} elements, more than one array can hold ({Array.MaxLength}).", tensor.File);
        int size = DTypes.SizeOf(tensor.DType);
        if (tensor.Length != count * size)
            throw new ArgumentException($"Tensor '{tensor.Name}' has {tensor.Length} bytes but its shape needs {count * size}.", nameof(tensor));
        var result = new float[count];
        DType dtype = tensor.DType;
        int chunk = (1 << 24) / size * size;
        source.ReadBytes(tensor, (bytes, offset) =>
        {
            if (bytes.Length % size != 0 || offset % size != 0)
                throw new InvalidOperationException($"Tensor '{tensor.Name}': the source returned a chunk that splits an element.");
            var target = result.AsSpan((int)(offset / size), bytes.Length / size);
            switch (dtype)
            {
                case DType.F32: ConvertF32(bytes, target); break;
                case DType.F16: HalfToFloat(bytes, target); break;
                default: BFloat16ToFloat(bytes, target); break;
            }
        }, chunk);
        return result;
    }

    /// <summary>An IEEE half (bits) as a float; exact.</summary>
    public static float HalfToFloat(ushort bits) => HalfPrecision.FromFp16(bits);

    /// <summary>A float as IEEE half bits, rounded to nearest even; overflow becomes infinity, NaN stays NaN.</summary>
    public static ushort FloatToHalf(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>A bfloat16 (bits) as a float; exact (a shift into the top half of the float).</summary>
    public static float BFloat16ToFloat(ushort bits) => HalfPrecision.FromBf16(bits);

    /// <summary>
    /// A float as bfloat16 bits, rounded to nearest even; values that round past the largest bfloat16 become
    /// infinity; NaN stays a (quiet) NaN with its sign.
    /// </summary>
    public static ushort FloatToBFloat16(float value) => HalfPrecision.ToBf16(value);

    /// <summary>Little-endian F16 bytes to floats (<paramref name="target"/> holds bytes/2 values).</summary>
    public static void HalfToFloat(ReadOnlySpan<byte> source, Span<float> target)
    {
        CheckLengths(source.Length, 2, target.Length);
        if (!BitConverter.IsLittleEndian)
        {
            for (int i = 0; i < target.Length; i++) target[i] = HalfToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(2 * i, 2)));
            return;
        }
        // Exponent-rebias by multiplication (exact for normals and subnormals); infinities and NaNs get the full exponent.
        var bits = MemoryMarshal.Cast<byte, ushort>(source);
        var output = MemoryMarshal.Cast<float, uint>(target);
        int index = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<ushort>.Count;
            int half = Vector<uint>.Count;
            for (; index <= bits.Length - width; index += width)
            {
                Vector.Widen(new Vector<ushort>(bits.Slice(index, width)), out Vector<uint> low, out Vector<uint> high);
                WidenHalves(low).CopyTo(output.Slice(index, half));
                WidenHalves(high).CopyTo(output.Slice(index + half, half));
            }
        }
        for (; index < bits.Length; index++) output[index] = WidenHalf(bits[index]);
    }

    private const float HalfRebias = 5.192296858534828e33f; // 2^112: moves the F16 exponent bias (15) to F32's (127)
    private const float HalfInfinityAfterRebias = 65536f;   // an F16 exponent of 31 (Inf/NaN) lands here or above

    private static uint WidenHalf(ushort h)
    {
        float magnitude = BitConverter.UInt32BitsToSingle((uint)(h & 0x7FFF) << 13) * HalfRebias;
        uint bits = BitConverter.SingleToUInt32Bits(magnitude);
        if (magnitude >= HalfInfinityAfterRebias) bits |= 0x7F80_0000u;
        return bits | ((uint)(h & 0x8000) << 16);
    }

    private static Vector<uint> WidenHalves(Vector<uint> h)
    {
        var magnitude = Vector.AsVectorSingle(Vector.ShiftLeft(h & new Vector<uint>(0x7FFF), 13)) * new Vector<float>(HalfRebias);
        var special = Vector.AsVectorUInt32(Vector.GreaterThanOrEqual(magnitude, new Vector<float>(HalfInfinityAfterRebias)));
        return Vector.AsVectorUInt32(magnitude) | (special & new Vector<uint>(0x7F80_0000u)) | Vector.ShiftLeft(h & new Vector<uint>(0x8000), 16);
    }

    /// <summary>Little-endian BF16 bytes to floats (<paramref name="target"/> holds bytes/2 values).</summary>
    public static void BFloat16ToFloat(ReadOnlySpan<byte> source, Span<float> target)
    {
        CheckLengths(source.Length, 2, target.Length);
        if (!BitConverter.IsLittleEndian)
        {
            for (int i = 0; i < target.Length; i++) target[i] = BFloat16ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(source.Slice(2 * i, 2)));
            return;
        }
        var bits = MemoryMarshal.Cast<byte, ushort>(source);
        var output = MemoryMarshal.Cast<float, uint>(target);
        int index = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<ushort>.Count;
            int half = Vector<uint>.Count;
            for (; index <= bits.Length - width; index += width)
            {
                Vector.Widen(new Vector<ushort>(bits.Slice(index, width)), out Vector<uint> low, out Vector<uint> high);
                Vector.ShiftLeft(low, 16).CopyTo(output.Slice(index, half));
                Vector.ShiftLeft(high, 16).CopyTo(output.Slice(index + half, half));
            }
        }
        for (; index < bits.Length; index++) output[index] = (uint)bits[index] << 16;
    }

    /// <summary>Floats to little-endian F16 bytes (<paramref name="target"/> holds 2 bytes per value).</summary>
    public static void FloatToHalf(ReadOnlySpan<float> source, Span<byte> target)
    {
        CheckLengths(target.Length, 2, source.Length);
        for (int i = 0; i < source.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(target.Slice(2 * i, 2), FloatToHalf(source[i]));
    }

    /// <summary>Floats to little-endian BF16 bytes (<paramref name="target"/> holds 2 bytes per value).</summary>
    public static void FloatToBFloat16(ReadOnlySpan<float> source, Span<byte> target)
    {
        CheckLengths(target.Length, 2, source.Length);
        for (int i = 0; i < source.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(target.Slice(2 * i, 2), FloatToBFloat16(source[i]));
    }

    private static void ConvertF32(ReadOnlySpan<byte> source, Span<float> target)
    {
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.Cast<byte, float>(source).CopyTo(target);
            return;
        }
        for (int i = 0; i < target.Length; i++) target[i] = BinaryPrimitives.ReadSingleLittleEndian(source.Slice(4 * i, 4));
    }

    private static void CheckLengths(int byteCount, int elementSize, int valueCount)
    {
        if ((long)valueCount * elementSize != byteCount)
            throw new ArgumentException($"{byteCount} bytes do not hold {valueCount} values of {elementSize} bytes each.");
    }
}
