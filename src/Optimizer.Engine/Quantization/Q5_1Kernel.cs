using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// Q5_1 blocks (<c>block_q5_1</c>: fp16 d, fp16 m, 4 bytes qh, 16 bytes of nibbles, laid out as Q5_0's codes).
/// Without an importance matrix bit-identical to ggml's <c>quantize_row_q5_1_ref</c>: <c>d = (max − min)/31</c>,
/// <c>m = min</c>, <c>q = (uint8)((x − min)·id + 0.5)</c> (no clamp). With one, to <c>quantize_row_q5_1_impl</c>:
/// weights <c>qw·√(σ² + x²)</c>, <c>make_qkx3_quants(32, 31, …)</c>, <c>m = −min</c>.
/// </summary>
internal static class Q5_1Kernel
{
    public const int BlockSize = 32;
    public const int BlockBytes = 24;

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
            float min = float.MaxValue;
            float max = -float.MaxValue;
            for (int j = 0; j < BlockSize; j++)
            {
                float v = x[j];
                if (v < min) min = v;
                if (v > max) max = v;
            }
            float d = (max - min) / 31;
            float id = d != 0f ? 1f / d : 0f;
            BinaryPrimitives.WriteUInt16LittleEndian(y, HalfPrecision.ToFp16(d));
            BinaryPrimitives.WriteUInt16LittleEndian(y[2..], HalfPrecision.ToFp16(min));
            uint qh = 0;
            for (int j = 0; j < 16; j++)
            {
                byte q0 = (byte)KQuantMath.Truncate((x[j] - min) * id + 0.5f);
                byte q1 = (byte)KQuantMath.Truncate((x[j + 16] - min) * id + 0.5f);
                y[8 + j] = (byte)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
                qh |= (uint)((q0 & 0x10) >> 4) << j;
                qh |= (uint)((q1 & 0x10) >> 4) << (j + 16);
            }
            BinaryPrimitives.WriteUInt32LittleEndian(y[4..], qh);
        }
    }

    /// <summary>
    /// Vector256 path: min and max by vector reductions (<see cref="BlockQuantLanes.MinMax"/> restores the scan's zero
    /// sign), codes as the same IEEE operations per lane with C's x86 truncation, the fifth bits by sign-bit extraction.
    /// </summary>
    public static void QuantizeVector(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int blocks = src.Length / BlockSize;
        ref float xs = ref MemoryMarshal.GetReference(src);
        Vector256<float> half = Vector256.Create(0.5f);
        for (int i = 0; i < blocks; i++)
        {
            ref float x = ref Unsafe.Add(ref xs, i * BlockSize);
            Vector256<float> v0 = Vector256.LoadUnsafe(ref x), v1 = Vector256.LoadUnsafe(ref x, 8);
            Vector256<float> v2 = Vector256.LoadUnsafe(ref x, 16), v3 = Vector256.LoadUnsafe(ref x, 24);
            BlockQuantLanes.MinMax(v0, v1, v2, v3, src.Slice(i * BlockSize, BlockSize), out float min, out float max);
            float d = (max - min) / 31;
            float id = d != 0f ? 1f / d : 0f;
            Span<byte> y = dst.Slice(i * BlockBytes, BlockBytes);
            BinaryPrimitives.WriteUInt16LittleEndian(y, HalfPrecision.ToFp16(d));
            BinaryPrimitives.WriteUInt16LittleEndian(y[2..], HalfPrecision.ToFp16(min));
            Vector256<float> vmin = Vector256.Create(min), vid = Vector256.Create(id);
            Vector256<int> q0 = BlockQuantLanes.Truncate((v0 - vmin) * vid + half);
            Vector256<int> q1 = BlockQuantLanes.Truncate((v1 - vmin) * vid + half);
            Vector256<int> q2 = BlockQuantLanes.Truncate((v2 - vmin) * vid + half);
            Vector256<int> q3 = BlockQuantLanes.Truncate((v3 - vmin) * vid + half);
            BinaryPrimitives.WriteUInt32LittleEndian(y[4..], BlockQuantLanes.FifthBits(q0, q1, q2, q3));
            BlockQuantLanes.PackNibbles(q0, q1, q2, q3, lowNibbles: true).StoreUnsafe(ref y[8]);
        }
    }

    /// <summary>Quantizes whole rows of <paramref name="importance"/>.Length values with the imatrix fit.</summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance) =>
        QuantizeWeighted(src, dst, importance, Vector256.IsHardwareAccelerated);

    /// <summary>The imatrix fit with 8 blocks per Vector256 (<paramref name="lanes"/>) or one at a time.</summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance, bool lanes) =>
        LegacyWeighted.Quantize(src, dst, importance, lanes, BlockBytes, LegacyWeighted.Fit.Qkx3Nmax31, static (y, d, theMin, l) =>
        {
            BinaryPrimitives.WriteUInt16LittleEndian(y, HalfPrecision.ToFp16(d));
            BinaryPrimitives.WriteUInt16LittleEndian(y[2..], HalfPrecision.ToFp16(-theMin));
            Q5_0Kernel.StoreCodes(y[4..], l);
        });

    /// <summary><c>dequantize_row_q5_1</c>: <c>x = q·d + m</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = dst.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<byte> b = src.Slice(i * BlockBytes, BlockBytes);
            float d = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(b));
            float m = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(b[2..]));
            uint qh = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
            Span<float> y = dst.Slice(i * BlockSize, BlockSize);
            for (int j = 0; j < 16; j++)
            {
                int h0 = (int)((qh >> j) << 4) & 0x10;
                int h1 = (int)(qh >> (j + 12)) & 0x10;
                y[j] = ((b[8 + j] & 0x0F) | h0) * d + m;
                y[j + 16] = ((b[8 + j] >> 4) | h1) * d + m;
            }
        }
    }
}
