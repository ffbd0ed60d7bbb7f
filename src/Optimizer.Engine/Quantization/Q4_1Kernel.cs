using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// Q4_1 blocks (<c>block_q4_1</c>: fp16 d, fp16 m, 16 bytes of nibbles; element j in the low nibble of byte j, element
/// j+16 in the high nibble). Without an importance matrix bit-identical to ggml's <c>quantize_row_q4_1_ref</c>:
/// <c>d = (max − min)/15</c>, <c>m = min</c>, <c>q = MIN(15, (int8)((x − min)·id + 0.5))</c>. With one, to
/// <c>quantize_row_q4_1_impl</c>: weights <c>qw·√(σ² + x²)</c> (σ² the row's mean square), <c>make_qkx3_quants</c>
/// (nmax 15, rmin −0.9, rdelta 0.05, 36 steps), <c>m = −min</c>, codes as fitted.
/// </summary>
internal static class Q4_1Kernel
{
    public const int BlockSize = 32;
    public const int BlockBytes = 20;

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
            float min = float.MaxValue;
            float max = -float.MaxValue;
            for (int j = 0; j < BlockSize; j++)
            {
                float v = x[j];
                if (v < min) min = v;
                if (v > max) max = v;
            }
            Encode(x, min, max, dst.Slice(i * BlockBytes, BlockBytes));
        }
    }

    /// <summary>
    /// Vector256 path: min and max by vector reductions (<see cref="BlockQuantLanes.MinMax"/> restores the scan's zero
    /// sign), codes as the same IEEE operations per lane with C's x86 truncation and int8 narrowing.
    /// </summary>
    public static void QuantizeVector(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int blocks = src.Length / BlockSize;
        ref float xs = ref MemoryMarshal.GetReference(src);
        Vector256<float> half = Vector256.Create(0.5f);
        Vector256<int> fifteen = Vector256.Create(15);
        for (int i = 0; i < blocks; i++)
        {
            ref float x = ref Unsafe.Add(ref xs, i * BlockSize);
            Vector256<float> v0 = Vector256.LoadUnsafe(ref x), v1 = Vector256.LoadUnsafe(ref x, 8);
            Vector256<float> v2 = Vector256.LoadUnsafe(ref x, 16), v3 = Vector256.LoadUnsafe(ref x, 24);
            BlockQuantLanes.MinMax(v0, v1, v2, v3, src.Slice(i * BlockSize, BlockSize), out float min, out float max);
            float d = (max - min) / 15;
            float id = d != 0f ? 1f / d : 0f;
            Span<byte> y = dst.Slice(i * BlockBytes, BlockBytes);
            BinaryPrimitives.WriteUInt16LittleEndian(y, HalfPrecision.ToFp16(d));
            BinaryPrimitives.WriteUInt16LittleEndian(y[2..], HalfPrecision.ToFp16(min));
            Vector256<float> vmin = Vector256.Create(min), vid = Vector256.Create(id);
            Vector256<int> q0 = Vector256.Min(BlockQuantLanes.ToSByte(BlockQuantLanes.Truncate((v0 - vmin) * vid + half)), fifteen);
            Vector256<int> q1 = Vector256.Min(BlockQuantLanes.ToSByte(BlockQuantLanes.Truncate((v1 - vmin) * vid + half)), fifteen);
            Vector256<int> q2 = Vector256.Min(BlockQuantLanes.ToSByte(BlockQuantLanes.Truncate((v2 - vmin) * vid + half)), fifteen);
            Vector256<int> q3 = Vector256.Min(BlockQuantLanes.ToSByte(BlockQuantLanes.Truncate((v3 - vmin) * vid + half)), fifteen);
            BlockQuantLanes.PackNibbles(q0, q1, q2, q3, lowNibbles: false).StoreUnsafe(ref y[4]);
        }
    }

    private static void Encode(ReadOnlySpan<float> x, float min, float max, Span<byte> y)
    {
        float d = (max - min) / 15;
        float id = d != 0f ? 1f / d : 0f;
        BinaryPrimitives.WriteUInt16LittleEndian(y, HalfPrecision.ToFp16(d));
        BinaryPrimitives.WriteUInt16LittleEndian(y[2..], HalfPrecision.ToFp16(min));
        for (int j = 0; j < 16; j++)
        {
            float x0 = (x[j] - min) * id;
            float x1 = (x[j + 16] - min) * id;
            byte q0 = (byte)Math.Min(15, (int)(sbyte)KQuantMath.Truncate(x0 + 0.5f));
            byte q1 = (byte)Math.Min(15, (int)(sbyte)KQuantMath.Truncate(x1 + 0.5f));
            y[4 + j] = (byte)(q0 | (q1 << 4));
        }
    }

    /// <summary>Quantizes whole rows of <paramref name="importance"/>.Length values with the imatrix fit.</summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance) =>
        QuantizeWeighted(src, dst, importance, Vector256.IsHardwareAccelerated);

    /// <summary>The imatrix fit with 8 blocks per Vector256 (<paramref name="lanes"/>) or one at a time.</summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance, bool lanes) =>
        LegacyWeighted.Quantize(src, dst, importance, lanes, BlockBytes, LegacyWeighted.Fit.Qkx3Nmax15, Store);

    private static void Store(Span<byte> y, float d, float theMin, ReadOnlySpan<byte> l)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(y, HalfPrecision.ToFp16(d));
        BinaryPrimitives.WriteUInt16LittleEndian(y[2..], HalfPrecision.ToFp16(-theMin));
        for (int j = 0; j < 16; j++)
            y[4 + j] = (byte)(l[j] | (l[j + 16] << 4));
    }

    /// <summary><c>dequantize_row_q4_1</c>: <c>x = q·d + m</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = dst.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<byte> b = src.Slice(i * BlockBytes, BlockBytes);
            float d = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(b));
            float m = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(b[2..]));
            Span<float> y = dst.Slice(i * BlockSize, BlockSize);
            for (int j = 0; j < 16; j++)
            {
                y[j] = (b[4 + j] & 0x0F) * d + m;
                y[j + 16] = (b[4 + j] >> 4) * d + m;
            }
        }
    }
}
