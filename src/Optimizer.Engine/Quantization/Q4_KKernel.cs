using System.Buffers.Binary;
using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// Q4_K super-blocks (<c>block_q4_K</c>: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles)
/// bit-identical to ggml's <c>quantize_row_q4_K_ref</c> without an importance matrix: eight sub-blocks of 32 fitted with
/// <c>make_qkx2_quants</c> (weights av_x + |x|, rmin −1, rdelta 0.1, 20 steps), scales and mins quantized to 6 bits
/// against their maxima, codes recomputed from the stored scales; and to <c>quantize_row_q4_K_impl</c> with one
/// (<c>make_qkx3_quants</c> and <c>make_qp_quants</c>, see <see cref="ScaleMinSuperBlock"/>).
/// </summary>
internal static class Q4_KKernel
{
    public const int BlockSize = 256;
    public const int BlockBytes = 144;

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
        var fit = new ScaleMinSuperBlock(15, lanes, stackalloc byte[32], stackalloc float[BlockSize], stackalloc float[8],
            lanes ? stackalloc Vector256<float>[32] : default, lanes ? stackalloc Vector256<float>[32] : default,
            lanes ? stackalloc Vector256<float>[32] : default, lanes ? stackalloc Vector256<float>[32] : default);
        int blocksPerRow = importance.IsEmpty ? 1 : importance.Length / BlockSize;
        int blocks = src.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<float> x = src.Slice(i * BlockSize, BlockSize);
            Span<byte> y = dst.Slice(i * BlockBytes, BlockBytes);
            if (importance.IsEmpty)
                fit.FitReference(x, y, l, scales, mins, -1f, 0.1f, 20);
            else
                fit.FitWeighted(x, importance.Slice(i % blocksPerRow * BlockSize, BlockSize), y, l, scales, mins, clampCodes: false);
            fit.Requantize(x, y, l);

            Span<byte> qs = y.Slice(16, 128);
            for (int j = 0, o = 0; j < BlockSize; j += 64, o += 32)
            {
                for (int k = 0; k < 32; k++)
                    qs[o + k] = (byte)(l[j + k] | (l[j + k + 32] << 4));
            }
        }
    }

    /// <summary><c>dequantize_row_q4_K</c>: <c>x = d·sc·q − dmin·m</c> per sub-block of 32.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = dst.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<byte> b = src.Slice(i * BlockBytes, BlockBytes);
            float d = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(b));
            float min = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(b[2..]));
            ReadOnlySpan<byte> scales = b.Slice(4, 12);
            ReadOnlySpan<byte> q = b.Slice(16, 128);
            Span<float> y = dst.Slice(i * BlockSize, BlockSize);
            for (int j = 0, s = 0, o = 0; j < BlockSize; j += 64, s += 2, o += 32)
            {
                KQuantMath.GetScaleMinK4(s, scales, out byte sc, out byte m);
                float d1 = d * sc, m1 = min * m;
                KQuantMath.GetScaleMinK4(s + 1, scales, out sc, out m);
                float d2 = d * sc, m2 = min * m;
                for (int k = 0; k < 32; k++) y[j + k] = d1 * (q[o + k] & 0xF) - m1;
                for (int k = 0; k < 32; k++) y[j + 32 + k] = d2 * (q[o + k] >> 4) - m2;
            }
        }
    }
}
