using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// Q6_K super-blocks (<c>block_q6_K</c>: 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 int8 scales, fp16 d)
/// bit-identical to ggml's <c>quantize_row_q6_K_ref</c>: sixteen sub-blocks of 16 fitted with <c>make_qx_quants</c>
/// (nmax 32, x² weights), scales quantized to int8 against the one of largest magnitude, codes recomputed from them.
/// With an importance matrix, to <c>quantize_row_q6_K_impl</c>: the same with the importance values themselves as the
/// fit's weights.
/// </summary>
internal static class Q6_KKernel
{
    public const int BlockSize = 256;
    public const int BlockBytes = 210;

    /// <summary>Quantizes whole super-blocks; fits the 16 sub-blocks 8 at a time in Vector256 lanes where the hardware has it.</summary>
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
        Span<sbyte> l = stackalloc sbyte[BlockSize];
        Span<float> scales = stackalloc float[16];
        Span<Vector256<float>> vx = stackalloc Vector256<float>[16];
        Span<Vector256<float>> vw = importance.IsEmpty ? default : stackalloc Vector256<float>[16];
        Span<Vector256<int>> vl = stackalloc Vector256<int>[16];
        int blocksPerRow = importance.IsEmpty ? 1 : importance.Length / BlockSize;
        int blocks = src.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<float> x = src.Slice(i * BlockSize, BlockSize);
            ReadOnlySpan<float> qw = importance.IsEmpty ? default : importance.Slice(i % blocksPerRow * BlockSize, BlockSize);
            Span<byte> y = dst.Slice(i * BlockBytes, BlockBytes);
            if (lanes)
            {
                FitLanes(x, qw, 0, l, scales, vx, vw, vl);
                FitLanes(x, qw, 8, l, scales, vx, vw, vl);
            }
            else
            {
                for (int ib = 0; ib < 16; ib++)
                    scales[ib] = KQuantMath.MakeQxQuants(32, x.Slice(16 * ib, 16), qw.IsEmpty ? default : qw.Slice(16 * ib, 16), l.Slice(16 * ib, 16));
            }
            float maxScale = 0;
            float maxAbsScale = 0;
            for (int ib = 0; ib < 16; ib++)
            {
                float absScale = MathF.Abs(scales[ib]);
                if (absScale > maxAbsScale)
                {
                    maxAbsScale = absScale;
                    maxScale = scales[ib];
                }
            }

            y.Clear();
            if (maxAbsScale < KQuantMath.GroupMaxEps)
                continue;

            Span<byte> ql = y[..128];
            Span<byte> qh = y.Slice(128, 64);
            Span<byte> sc = y.Slice(192, 16);
            float iscale = -128f / maxScale;
            ushort dBits = HalfPrecision.ToFp16(1 / iscale);
            BinaryPrimitives.WriteUInt16LittleEndian(y[208..], dBits);
            float dAll = HalfPrecision.FromFp16(dBits);
            for (int ib = 0; ib < 16; ib++)
                sc[ib] = (byte)(sbyte)Math.Min(127, KQuantMath.NearestInt(iscale * scales[ib]));

            for (int j = 0; j < 16; j++)
            {
                float d = dAll * (sbyte)sc[j];
                if (d == 0f) continue;
                if (lanes)
                {
                    KQuantLanes.Requantize(x.Slice(16 * j, 16), 0f, d, -32, 31, 32, MemoryMarshal.AsBytes(l.Slice(16 * j, 16)));
                    continue;
                }
                for (int k = 0; k < 16; k++)
                {
                    int q = KQuantMath.NearestInt(x[16 * j + k] / d);
                    q = Math.Max(-32, Math.Min(31, q));
                    l[16 * j + k] = (sbyte)(q + 32);
                }
            }

            for (int j = 0, lo = 0, ho = 0; j < BlockSize; j += 128, lo += 64, ho += 32)
            {
                for (int k = 0; k < 32; k++)
                {
                    int l0 = l[j + k], l1 = l[j + k + 32], l2 = l[j + k + 64], l3 = l[j + k + 96];
                    ql[lo + k] = (byte)((l0 & 0xF) | ((l2 & 0xF) << 4));
                    ql[lo + k + 32] = (byte)((l1 & 0xF) | ((l3 & 0xF) << 4));
                    qh[ho + k] = (byte)((l0 >> 4) | ((l1 >> 4) << 2) | ((l2 >> 4) << 4) | ((l3 >> 4) << 6));
                }
            }
        }
    }

    /// <summary>
    /// Sub-blocks <paramref name="first"/>..first+7 fitted one per lane (bit-identical to the scalar fits), weighted by
    /// <paramref name="qw"/> when it is not empty.
    /// </summary>
    private static void FitLanes(ReadOnlySpan<float> x, ReadOnlySpan<float> qw, int first, Span<sbyte> l, Span<float> scales,
        Span<Vector256<float>> vx, Span<Vector256<float>> vw, Span<Vector256<int>> vl)
    {
        Span<float> lane = stackalloc float[8];
        Span<int> codes = stackalloc int[8];
        for (int k = 0; k < 16; k++)
        {
            for (int j = 0; j < 8; j++) lane[j] = x[16 * (first + j) + k];
            vx[k] = Vector256.Create<float>(lane);
        }
        if (qw.IsEmpty)
        {
            KQuantLanes.MakeQxQuants(32, vx, vl).CopyTo(scales[first..]);
        }
        else
        {
            BlockQuantLanes.Transpose(qw.Slice(16 * first, 128), 16, 8, vw);
            KQuantLanes.MakeQxQuants(32, vx, vw, vl).CopyTo(scales[first..]);
        }
        for (int k = 0; k < 16; k++)
        {
            vl[k].CopyTo(codes);
            for (int j = 0; j < 8; j++) l[16 * (first + j) + k] = (sbyte)codes[j];
        }
    }

    /// <summary><c>dequantize_row_q6_K</c>: <c>x = d·scale·(q − 32)</c> per sub-block of 16.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = dst.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<byte> b = src.Slice(i * BlockBytes, BlockBytes);
            ReadOnlySpan<byte> ql = b[..128];
            ReadOnlySpan<byte> qh = b.Slice(128, 64);
            ReadOnlySpan<byte> sc = b.Slice(192, 16);
            float d = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(b[208..]));
            Span<float> y = dst.Slice(i * BlockSize, BlockSize);
            for (int n = 0, lo = 0, ho = 0, so = 0; n < BlockSize; n += 128, lo += 64, ho += 32, so += 8)
            {
                for (int k = 0; k < 32; k++)
                {
                    int s = so + k / 16;
                    int q1 = ((ql[lo + k] & 0xF) | (((qh[ho + k] >> 0) & 3) << 4)) - 32;
                    int q2 = ((ql[lo + k + 32] & 0xF) | (((qh[ho + k] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[lo + k] >> 4) | (((qh[ho + k] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[lo + k + 32] >> 4) | (((qh[ho + k] >> 6) & 3) << 4)) - 32;
                    y[n + k] = d * (sbyte)sc[s] * q1;
                    y[n + k + 32] = d * (sbyte)sc[s + 2] * q2;
                    y[n + k + 64] = d * (sbyte)sc[s + 4] * q3;
                    y[n + k + 96] = d * (sbyte)sc[s + 6] * q4;
                }
            }
        }
    }
}
