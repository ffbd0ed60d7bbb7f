using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// Q8_0 blocks (<c>block_q8_0</c>: fp16 d, 32 × int8), bit-identical to ggml's <c>quantize_row_q8_0_ref</c>:
/// <c>d = amax / 127</c>, <c>id = d ? 1/d : 0</c>, <c>q = roundf(x·id)</c> (half away from zero).
/// </summary>
internal static class Q8_0Kernel
{
    public const int BlockSize = 32;
    public const int BlockBytes = 34;

    /// <summary>Quantizes whole blocks; uses the vector path where the hardware has it (same bytes as the scalar path).</summary>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        if (Vector256.IsHardwareAccelerated)
            QuantizeVector(src, dst);
        else
            QuantizeScalar(src, dst);
    }

    /// <summary>The reference arithmetic, one element at a time.</summary>
    public static void QuantizeScalar(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int blocks = src.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<float> x = src.Slice(i * BlockSize, BlockSize);
            Span<byte> y = dst.Slice(i * BlockBytes, BlockBytes);
            float amax = 0f;
            for (int j = 0; j < BlockSize; j++)
            {
                float a = MathF.Abs(x[j]);
                amax = amax > a ? amax : a;
            }
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            BinaryPrimitives.WriteUInt16LittleEndian(y, HalfPrecision.ToFp16(d));
            for (int j = 0; j < BlockSize; j++)
                y[2 + j] = (byte)KQuantMath.Truncate(MathF.Round(x[j] * id, MidpointRounding.AwayFromZero));
        }
    }

    /// <summary>
    /// Vector256 path: the abs-max is order-independent (exact), each product <c>x·id</c> is the same IEEE multiply, and
    /// round-half-away-from-zero is done exactly as truncate-then-adjust (<c>x − trunc(x)</c> is exact below 2^23); the
    /// conversion to int8 keeps the low byte of x86's truncation (an infinite id, from a subnormal d, gives 0x80000000 and
    /// so code 0), as C's <c>(int8_t)roundf(x)</c> does there.
    /// </summary>
    public static void QuantizeVector(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int blocks = src.Length / BlockSize;
        ref float xs = ref MemoryMarshal.GetReference(src);
        Vector256<float> half = Vector256.Create(0.5f);
        Vector256<float> one = Vector256.Create(1f);
        Vector256<float> signMask = Vector256.Create(-0f);
        Vector256<uint> lowByte = Vector256.Create(0xFFu);
        for (int i = 0; i < blocks; i++)
        {
            ref float x = ref Unsafe.Add(ref xs, i * BlockSize);
            Vector256<float> v0 = Vector256.LoadUnsafe(ref x);
            Vector256<float> v1 = Vector256.LoadUnsafe(ref x, 8);
            Vector256<float> v2 = Vector256.LoadUnsafe(ref x, 16);
            Vector256<float> v3 = Vector256.LoadUnsafe(ref x, 24);
            Vector256<float> m = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)),
                Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
            Vector128<float> m4 = Vector128.Max(m.GetLower(), m.GetUpper());
            float amax = MathF.Max(MathF.Max(m4[0], m4[1]), MathF.Max(m4[2], m4[3]));
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            Span<byte> y = dst.Slice(i * BlockBytes, BlockBytes);
            BinaryPrimitives.WriteUInt16LittleEndian(y, HalfPrecision.ToFp16(d));
            Vector256<float> vid = Vector256.Create(id);
            Vector256<int> q0 = RoundAway(v0 * vid, half, one, signMask);
            Vector256<int> q1 = RoundAway(v1 * vid, half, one, signMask);
            Vector256<int> q2 = RoundAway(v2 * vid, half, one, signMask);
            Vector256<int> q3 = RoundAway(v3 * vid, half, one, signMask);
            Vector256<ushort> s01 = Vector256.Narrow(q0.AsUInt32() & lowByte, q1.AsUInt32() & lowByte);
            Vector256<ushort> s23 = Vector256.Narrow(q2.AsUInt32() & lowByte, q3.AsUInt32() & lowByte);
            Vector128<byte> b0 = Vector128.Narrow(s01.GetLower(), s01.GetUpper());
            Vector128<byte> b1 = Vector128.Narrow(s23.GetLower(), s23.GetUpper());
            b0.StoreUnsafe(ref y[2]);
            b1.StoreUnsafe(ref y[18]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> RoundAway(Vector256<float> v, Vector256<float> half, Vector256<float> one, Vector256<float> signMask)
    {
        Vector256<float> t = Vector256.Truncate(v);
        Vector256<float> frac = Vector256.Abs(v - t);
        Vector256<float> step = (one | (v & signMask)) & Vector256.GreaterThanOrEqual(frac, half);
        return BlockQuantLanes.Truncate(t + step);
    }

    /// <summary><c>dequantize_row_q8_0</c>: <c>x = q·d</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = dst.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<byte> b = src.Slice(i * BlockBytes, BlockBytes);
            float d = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(b));
            Span<float> y = dst.Slice(i * BlockSize, BlockSize);
            for (int j = 0; j < BlockSize; j++)
                y[j] = (sbyte)b[2 + j] * d;
        }
    }
}
