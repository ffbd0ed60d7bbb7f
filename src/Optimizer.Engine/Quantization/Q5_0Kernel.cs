using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// Q5_0 blocks (<c>block_q5_0</c>: fp16 d, 4 bytes qh, 16 bytes of nibbles; the low 4 bits of element j in the low
/// nibble of byte j and of element j+16 in the high nibble, bit 4 of element k in bit k of the little-endian qh).
/// Without an importance matrix bit-identical to ggml's <c>quantize_row_q5_0_ref</c>: <c>max</c> = the first element of
/// largest magnitude, <c>d = max / −16</c>, <c>q = MIN(31, (int8)(x·id + 16.5))</c>. With one, to
/// <c>quantize_row_q5_0_impl</c>: weights <c>qw·√(σ² + x²)</c> and <c>make_qx_quants(32, 16, …)</c> per block.
/// </summary>
internal static class Q5_0Kernel
{
    public const int BlockSize = 32;
    public const int BlockBytes = 22;

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
            float max = 0f;
            for (int j = 0; j < BlockSize; j++)
            {
                float v = x[j];
                if (amax < MathF.Abs(v))
                {
                    amax = MathF.Abs(v);
                    max = v;
                }
            }
            float d = max / -16;
            float id = d != 0f ? 1f / d : 0f;
            BinaryPrimitives.WriteUInt16LittleEndian(y, HalfPrecision.ToFp16(d));
            uint qh = 0;
            for (int j = 0; j < 16; j++)
            {
                byte q0 = (byte)Math.Min(31, (int)(sbyte)KQuantMath.Truncate(x[j] * id + 16.5f));
                byte q1 = (byte)Math.Min(31, (int)(sbyte)KQuantMath.Truncate(x[j + 16] * id + 16.5f));
                y[6 + j] = (byte)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
                qh |= (uint)((q0 & 0x10) >> 4) << j;
                qh |= (uint)((q1 & 0x10) >> 4) << (j + 16);
            }
            BinaryPrimitives.WriteUInt32LittleEndian(y[2..], qh);
        }
    }

    /// <summary>
    /// Vector256 path: the signed abs-max as the scan finds it (<see cref="BlockQuantLanes.SignedAbsMax"/>), codes as the
    /// same IEEE operations per lane with C's x86 truncation and int8 narrowing, the fifth bits by sign-bit extraction.
    /// </summary>
    public static void QuantizeVector(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int blocks = src.Length / BlockSize;
        ref float xs = ref MemoryMarshal.GetReference(src);
        Vector256<float> bias = Vector256.Create(16.5f);
        Vector256<int> top = Vector256.Create(31);
        for (int i = 0; i < blocks; i++)
        {
            ref float x = ref Unsafe.Add(ref xs, i * BlockSize);
            Vector256<float> v0 = Vector256.LoadUnsafe(ref x), v1 = Vector256.LoadUnsafe(ref x, 8);
            Vector256<float> v2 = Vector256.LoadUnsafe(ref x, 16), v3 = Vector256.LoadUnsafe(ref x, 24);
            float max = BlockQuantLanes.SignedAbsMax(v0, v1, v2, v3, src.Slice(i * BlockSize, BlockSize));
            float d = max / -16;
            float id = d != 0f ? 1f / d : 0f;
            Span<byte> y = dst.Slice(i * BlockBytes, BlockBytes);
            BinaryPrimitives.WriteUInt16LittleEndian(y, HalfPrecision.ToFp16(d));
            Vector256<float> vid = Vector256.Create(id);
            Vector256<int> q0 = Code(v0, vid, bias, top), q1 = Code(v1, vid, bias, top);
            Vector256<int> q2 = Code(v2, vid, bias, top), q3 = Code(v3, vid, bias, top);
            BinaryPrimitives.WriteUInt32LittleEndian(y[2..], BlockQuantLanes.FifthBits(q0, q1, q2, q3));
            BlockQuantLanes.PackNibbles(q0, q1, q2, q3, lowNibbles: true).StoreUnsafe(ref y[6]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Code(Vector256<float> v, Vector256<float> id, Vector256<float> bias, Vector256<int> top) =>
        Vector256.Min(BlockQuantLanes.ToSByte(BlockQuantLanes.Truncate(v * id + bias)), top);

    /// <summary>Quantizes whole rows of <paramref name="importance"/>.Length values with the imatrix fit.</summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance) =>
        QuantizeWeighted(src, dst, importance, Vector256.IsHardwareAccelerated);

    /// <summary>The imatrix fit with 8 blocks per Vector256 (<paramref name="lanes"/>) or one at a time.</summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance, bool lanes) =>
        LegacyWeighted.Quantize(src, dst, importance, lanes, BlockBytes, LegacyWeighted.Fit.QxNmax16, static (y, d, _, l) =>
        {
            BinaryPrimitives.WriteUInt16LittleEndian(y, HalfPrecision.ToFp16(d));
            StoreCodes(y[2..], l);
        });

    /// <summary>The 32 five-bit codes as qh (4 bytes) followed by 16 bytes of nibbles, as Q5_0 and Q5_1 store them.</summary>
    public static void StoreCodes(Span<byte> y, ReadOnlySpan<byte> l)
    {
        uint qh = 0;
        for (int j = 0; j < 16; j++)
        {
            int q0 = l[j], q1 = l[j + 16];
            y[4 + j] = (byte)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
            qh |= (uint)((q0 & 0x10) >> 4) << j;
            qh |= (uint)((q1 & 0x10) >> 4) << (j + 16);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(y, qh);
    }

    /// <summary><c>dequantize_row_q5_0</c>: <c>x = (q − 16)·d</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = dst.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<byte> b = src.Slice(i * BlockBytes, BlockBytes);
            float d = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(b));
            uint qh = BinaryPrimitives.ReadUInt32LittleEndian(b[2..]);
            Span<float> y = dst.Slice(i * BlockSize, BlockSize);
            for (int j = 0; j < 16; j++)
            {
                int h0 = (int)((qh >> j) << 4) & 0x10;
                int h1 = (int)(qh >> (j + 12)) & 0x10;
                y[j] = (((b[6 + j] & 0x0F) | h0) - 16) * d;
                y[j + 16] = (((b[6 + j] >> 4) | h1) - 16) * d;
            }
        }
    }
}
