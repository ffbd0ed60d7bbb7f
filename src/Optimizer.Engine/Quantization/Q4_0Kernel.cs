using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// Q4_0 blocks (<c>block_q4_0</c>: fp16 d, 16 bytes of nibbles; element j in the low nibble of byte j, element j+16 in
/// the high nibble), bit-identical to ggml's <c>quantize_row_q4_0_ref</c>: <c>max</c> = the first element of largest
/// magnitude (with its sign), <c>d = max / −8</c>, <c>q = MIN(15, (int8)(x·id + 8.5))</c>. With an importance matrix,
/// bit-identical to <c>quantize_row_q4_0_impl</c>: weights <c>qw·√(σ² + x²)</c> (σ² the row's mean square) and
/// <c>make_qx_quants(32, 8, …)</c> per block (see <see cref="LegacyWeighted"/>).
/// </summary>
internal static class Q4_0Kernel
{
    public const int BlockSize = 32;
    public const int BlockBytes = 18;

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
            float d = max / -8f;
            float id = d != 0f ? 1f / d : 0f;
            BinaryPrimitives.WriteUInt16LittleEndian(y, HalfPrecision.ToFp16(d));
            for (int j = 0; j < BlockSize / 2; j++)
            {
                byte q0 = (byte)Math.Min(15, (int)(sbyte)KQuantMath.Truncate(x[j] * id + 8.5f));
                byte q1 = (byte)Math.Min(15, (int)(sbyte)KQuantMath.Truncate(x[j + 16] * id + 8.5f));
                y[2 + j] = (byte)(q0 | (q1 << 4));
            }
        }
    }

    /// <summary>
    /// Vector256 path: the abs-max is exact in any order and the signed maximum is the first element reaching it (as the
    /// scalar scan keeps); <c>x·id + 8.5</c> is the same pair of IEEE operations, truncated toward zero as x86 does (an
    /// infinite id, from a subnormal d, gives 0x80000000 and so code 0) and narrowed to int8 as C does.
    /// </summary>
    public static void QuantizeVector(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int blocks = src.Length / BlockSize;
        ref float xs = ref MemoryMarshal.GetReference(src);
        Vector256<float> bias = Vector256.Create(8.5f);
        Vector256<int> fifteen = Vector256.Create(15), low = Vector256.Create(0xFF);
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
            float max = 0f;
            if (amax > 0f)
            {
                for (int j = 0; j < BlockSize; j++)
                {
                    float v = Unsafe.Add(ref x, j);
                    if (MathF.Abs(v) == amax)
                    {
                        max = v;
                        break;
                    }
                }
            }
            float d = max / -8f;
            float id = d != 0f ? 1f / d : 0f;
            Span<byte> y = dst.Slice(i * BlockBytes, BlockBytes);
            BinaryPrimitives.WriteUInt16LittleEndian(y, HalfPrecision.ToFp16(d));
            Vector256<float> vid = Vector256.Create(id);
            Vector256<int> lo0 = Vector256.Min(BlockQuantLanes.ToSByte(BlockQuantLanes.Truncate(v0 * vid + bias)), fifteen) & low;
            Vector256<int> lo1 = Vector256.Min(BlockQuantLanes.ToSByte(BlockQuantLanes.Truncate(v1 * vid + bias)), fifteen) & low;
            Vector256<int> hi0 = Vector256.Min(BlockQuantLanes.ToSByte(BlockQuantLanes.Truncate(v2 * vid + bias)), fifteen) & low;
            Vector256<int> hi1 = Vector256.Min(BlockQuantLanes.ToSByte(BlockQuantLanes.Truncate(v3 * vid + bias)), fifteen) & low;
            Vector256<int> p0 = (lo0 | Vector256.ShiftLeft(hi0, 4)) & low;
            Vector256<int> p1 = (lo1 | Vector256.ShiftLeft(hi1, 4)) & low;
            Vector256<ushort> s = Vector256.Narrow(p0.AsUInt32(), p1.AsUInt32());
            Vector128<byte> packed = Vector128.Narrow(s.GetLower(), s.GetUpper());
            packed.StoreUnsafe(ref y[2]);
        }
    }

    /// <summary>Quantizes whole rows of <paramref name="importance"/>.Length values with the imatrix fit.</summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance) =>
        QuantizeWeighted(src, dst, importance, Vector256.IsHardwareAccelerated);

    /// <summary>The imatrix fit with 8 blocks per Vector256 (<paramref name="lanes"/>) or one at a time.</summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance, bool lanes) =>
        LegacyWeighted.Quantize(src, dst, importance, lanes, BlockBytes, LegacyWeighted.Fit.QxNmax8, static (y, d, _, l) =>
        {
            BinaryPrimitives.WriteUInt16LittleEndian(y, HalfPrecision.ToFp16(d));
            for (int j = 0; j < 16; j++)
                y[2 + j] = (byte)(l[j] | (l[j + 16] << 4));
        });

    /// <summary><c>dequantize_row_q4_0</c>: <c>x = (q − 8)·d</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = dst.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<byte> b = src.Slice(i * BlockBytes, BlockBytes);
            float d = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(b));
            Span<float> y = dst.Slice(i * BlockSize, BlockSize);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                y[j] = ((b[2 + j] & 0x0F) - 8) * d;
                y[j + 16] = ((b[2 + j] >> 4) - 8) * d;
            }
        }
    }
}
