using System.Buffers.Binary;
using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// Q5_K super-blocks (<c>block_q5_K</c>: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins, 32 bytes qh, 128 bytes
/// of nibbles) bit-identical to ggml's <c>quantize_row_q5_K_ref</c> without an importance matrix: eight sub-blocks of 32
/// fitted with <c>make_qkx2_quants</c> (weights av_x + |x|, nmax 31, rmin −0.5, rdelta 0.1, 15 steps), 6-bit scales and
/// mins against their maxima, codes recomputed from the stored scales; and to <c>quantize_row_q5_K_impl</c> with one
/// (<c>make_qkx3_quants</c> and <c>make_qp_quants</c>, see <see cref="ScaleMinSuperBlock"/>).
/// </summary>
internal static class Q5_KKernel
{
    public const int BlockSize = 256;
    public const int BlockBytes = 176;

    /// <summary>Quantizes whole super-blocks; fits the 8 sub-blocks in Vector256 lanes where the hardware has it.</summary>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst) => Quantize(src, dst, Vector256.IsHardwareAccelerated);

    /// <summary>Quantizes whole super-blocks with the lane-parallel fit (<paramref name="lanes"/>) or the scalar one.</summary>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst, bool lanes) => Run(src, dst, default, lanes);

    /// <summary>Quantizes whole rows of <paramref name="importance"/>.Length values with the imatrix fit.</summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance) =>
        QuantizeWeighted(src, dst, importance, Vector256.IsHardwareAccelerated);

    /// <summary>The imatrix fit with the lane-parallel sub-block fits (<paramref name="lanes"/>) or the scalar ones.</summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance, bool lanes) =>
        Run(src, dst, importance, lanes);

    private static void Run(ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance, bool lanes)
    {
        Span<byte> l = stackalloc byte[BlockSize];
        Span<float> mins = stackalloc float[8];
        Span<float> scales = stackalloc float[8];
        var fit = new ScaleMinSuperBlock(31, lanes, stackalloc byte[32], stackalloc float[BlockSize], stackalloc float[8],
            lanes ? stackalloc Vector256<float>[32] : default, lanes ? stackalloc Vector256<float>[32] : default,
            lanes ? stackalloc Vector256<float>[32] : default, lanes ? stackalloc Vector256<float>[32] : default);
        int blocksPerRow = importance.IsEmpty ? 1 : importance.Length / BlockSize;
        int blocks = src.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<float> x = src.Slice(i * BlockSize, BlockSize);
            Span<byte> y = dst.Slice(i * BlockBytes, BlockBytes);
            if (importance.IsEmpty)
                fit.FitReference(x, y, l, scales, mins, -0.5f, 0.1f, 15);
            else
                fit.FitWeighted(x, importance.Slice(i % blocksPerRow * BlockSize, BlockSize), y, l, scales, mins, clampCodes: true);
            fit.Requantize(x, y, l);

            Span<byte> qh = y.Slice(16, 32);
            Span<byte> ql = y.Slice(48, 128);
            qh.Clear();
            byte m1 = 1, m2 = 2;
            for (int n = 0, o = 0; n < BlockSize; n += 64, o += 32)
            {
                for (int j = 0; j < 32; j++)
                {
                    int l1 = l[n + j];
                    if (l1 > 15)
                    {
                        l1 -= 16;
                        qh[j] |= m1;
                    }
                    int l2 = l[n + j + 32];
                    if (l2 > 15)
                    {
                        l2 -= 16;
                        qh[j] |= m2;
                    }
                    ql[o + j] = (byte)(l1 | (l2 << 4));
                }
                m1 <<= 2;
                m2 <<= 2;
            }
        }
    }

    /// <summary><c>dequantize_row_q5_K</c>: <c>x = d·sc·q − dmin·m</c> per sub-block of 32, q with its fifth bit from qh.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = dst.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<byte> b = src.Slice(i * BlockBytes, BlockBytes);
            float d = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(b));
            float min = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(b[2..]));
            ReadOnlySpan<byte> scales = b.Slice(4, 12);
            ReadOnlySpan<byte> qh = b.Slice(16, 32);
            ReadOnlySpan<byte> ql = b.Slice(48, 128);
            Span<float> y = dst.Slice(i * BlockSize, BlockSize);
            int u1 = 1, u2 = 2;
            for (int j = 0, s = 0, o = 0; j < BlockSize; j += 64, s += 2, o += 32, u1 <<= 2, u2 <<= 2)
            {
                KQuantMath.GetScaleMinK4(s, scales, out byte sc, out byte m);
                float d1 = d * sc, m1 = min * m;
                KQuantMath.GetScaleMinK4(s + 1, scales, out sc, out m);
                float d2 = d * sc, m2 = min * m;
                for (int k = 0; k < 32; k++) y[j + k] = d1 * ((ql[o + k] & 0xF) + ((qh[k] & u1) != 0 ? 16 : 0)) - m1;
                for (int k = 0; k < 32; k++) y[j + 32 + k] = d2 * ((ql[o + k] >> 4) + ((qh[k] & u2) != 0 ? 16 : 0)) - m2;
            }
        }
    }
}
