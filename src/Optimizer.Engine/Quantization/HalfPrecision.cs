namespace Optimizer.Engine.Quantization;

/// <summary>
/// fp16 and bf16 conversions with the exact bits ggml produces (ggml-impl.h <c>ggml_compute_fp32_to_fp16</c>,
/// <c>ggml_compute_fp32_to_bf16</c>): round to nearest even, subnormals kept, overflow to infinity, NaN made quiet.
/// </summary>
public static class HalfPrecision
{
    /// <summary>
    /// fp32 to IEEE binary16 bits. Round to nearest even through the "add a magic number" trick; every NaN becomes
    /// <c>0x7E00</c> with the input's sign, as in ggml.
    /// </summary>
    public static ushort ToFp16(float value)
    {
        float scaleToInf = BitConverter.UInt32BitsToSingle(0x77800000u); // 2^112
        float scaleToZero = BitConverter.UInt32BitsToSingle(0x08800000u); // 2^-110
        float @base = MathF.Abs(value) * scaleToInf * scaleToZero;
        uint w = BitConverter.SingleToUInt32Bits(value);
        uint shl1W = w + w;
        uint sign = w & 0x80000000u;
        uint bias = shl1W & 0xFF000000u;
        if (bias < 0x71000000u)
            bias = 0x71000000u;
        @base = BitConverter.UInt32BitsToSingle((bias >> 1) + 0x07800000u) + @base;
        uint bits = BitConverter.SingleToUInt32Bits(@base);
        uint expBits = (bits >> 13) & 0x00007C00u;
        uint mantissaBits = bits & 0x00000FFFu;
        uint nonSign = expBits + mantissaBits;
        return (ushort)((sign >> 16) | (shl1W > 0xFF000000u ? 0x7E00u : nonSign));
    }

    /// <summary>IEEE binary16 bits to fp32 (exact).</summary>
    public static float FromFp16(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>fp32 to bfloat16 bits: round to nearest even, subnormals kept, NaN forced quiet (ggml).</summary>
    public static ushort ToBf16(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if ((u & 0x7FFFFFFFu) > 0x7F800000u)
            return (ushort)((u >> 16) | 64);
        return (ushort)((u + (0x7FFFu + ((u >> 16) & 1u))) >> 16);
    }

    /// <summary>bfloat16 bits to fp32 (exact).</summary>
    public static float FromBf16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);
}
