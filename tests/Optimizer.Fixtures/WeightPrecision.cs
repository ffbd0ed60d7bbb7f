using System.Buffers.Binary;
using Optimizer.Engine.Formats;

namespace Optimizer.Fixtures;

/// <summary>
/// Rounds float64 weights to what a storage type can hold (F32, F16 or BF16; round to nearest, ties to even) and
/// encodes them as little-endian bytes. Builders round before they measure, so every recorded expectation is computed
/// from exactly the stored numbers.
/// </summary>
public static class WeightPrecision
{
    /// <summary>The value nearest to <paramref name="value"/> that <paramref name="dtype"/> represents.</summary>
    public static double Round(double value, DType dtype)
    {
        if (!double.IsFinite(value)) throw new ArgumentException($"Weight {value} is not finite.", nameof(value));
        float f = (float)value;
        return dtype switch
        {
            DType.F32 => Finite(f, value, dtype),
            DType.F16 => Finite((float)(Half)f, value, dtype),
            DType.BF16 => Finite(BFloat16ToSingle(SingleToBFloat16(f)), value, dtype),
            _ => throw new ArgumentException($"Weights cannot be stored as {dtype}.", nameof(dtype)),
        };
    }

    /// <summary>Rounds every element of <paramref name="values"/> in place.</summary>
    public static void Round(Span<double> values, DType dtype)
    {
        for (int i = 0; i < values.Length; i++) values[i] = Round(values[i], dtype);
    }

    /// <summary>Little-endian bytes of <paramref name="values"/> (already representable) stored as <paramref name="dtype"/>.</summary>
    public static byte[] Encode(ReadOnlySpan<float> values, DType dtype)
    {
        int size = DTypes.SizeOf(dtype);
        var bytes = new byte[checked(values.Length * size)];
        for (int i = 0; i < values.Length; i++)
        {
            var slot = bytes.AsSpan(i * size, size);
            switch (dtype)
            {
                case DType.F32: BinaryPrimitives.WriteSingleLittleEndian(slot, values[i]); break;
                case DType.F16: BinaryPrimitives.WriteHalfLittleEndian(slot, (Half)values[i]); break;
                case DType.BF16: BinaryPrimitives.WriteUInt16LittleEndian(slot, SingleToBFloat16(values[i])); break;
                default: throw new ArgumentException($"Weights cannot be stored as {dtype}.", nameof(dtype));
            }
        }
        return bytes;
    }

    /// <summary>bfloat16 bits of <paramref name="value"/>, rounded to nearest with ties to even.</summary>
    public static ushort SingleToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        uint rounding = 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)((bits + rounding) >> 16);
    }

    /// <summary>The float value of bfloat16 bits.</summary>
    public static float BFloat16ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    private static double Finite(float rounded, double original, DType dtype)
    {
        if (!float.IsFinite(rounded)) throw new ArgumentException($"Weight {original} overflows {dtype}.", nameof(original));
        return rounded;
    }
}
