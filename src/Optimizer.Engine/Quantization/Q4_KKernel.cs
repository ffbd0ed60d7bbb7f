using System.Buffers.Binary;
using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// Q4_K super-blocks (<c>block_q4_K</c>: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles)
/// bit-identical to ggml's <c>quantize_row_q4_K_ref</c>: eight sub-blocks of 32 fitted with <c>make_qkx2_quants</c>
/// (weights av_x + |x|, rmin −1, rdelta 0.1, 20 steps), scales and mins quantized to 6 bits against their maxima,
/// codes recomputed from the stored scales.
/// </summary>
internal static class Q4_KKernel
{
    public const int BlockSize = 256;
    public const int BlockBytes = 144;

    /// <summary>Quantizes whole super-blocks; fits the 8 sub-blocks in Vector256 lanes where the hardware has it.</summary>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst) => Quantize(src, dst, Vector256.IsHardwareAccelerated);

    /// <summary>Quantizes whole super-blocks with the lane-parallel fit (<paramref name="lanes"/>) or the scalar one.</summary>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst, bool lanes)
    {
        Span<byte> l = stackalloc byte[BlockSize];
        Span<byte> laux = stackalloc byte[32];
        Span<float> weights = stackalloc float[32];
        Span<float> mins = stackalloc float[8];
        Span<float> scales = stackalloc float[8];
        Span<Vector256<float>> vx = stackalloc Vector256<float>[32];
        Span<Vector256<float>> vw = stackalloc Vector256<float>[32];
        Span<Vector256<float>> vl = stackalloc Vector256<float>[32];
        Span<Vector256<float>> vaux = stackalloc Vector256<float>[32];
        int blocks = src.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<float> x = src.Slice(i * BlockSize, BlockSize);
            Span<byte> y = dst.Slice(i * BlockBytes, BlockBytes);
            Span<byte> ys = y.Slice(4, 12);
            float maxScale = 0;
            float maxMin = 0;
            if (lanes)
                FitLanes(x, l, scales, mins, vx, vw, vl, vaux);
            for (int j = 0; j < 8; j++)
            {
                if (!lanes)
                {
                    ReadOnlySpan<float> xb = x.Slice(32 * j, 32);
                    float sumX2 = 0;
                    for (int k = 0; k < 32; k++) sumX2 += xb[k] * xb[k];
                    float avX = MathF.Sqrt(sumX2 / 32);
                    for (int k = 0; k < 32; k++) weights[k] = avX + MathF.Abs(xb[k]);
                    scales[j] = KQuantMath.MakeQkx2Quants(15, xb, weights, l.Slice(32 * j, 32), out mins[j], laux, -1f, 0.1f, 20);
                }
                if (scales[j] > maxScale) maxScale = scales[j];
                if (mins[j] > maxMin) maxMin = mins[j];
            }

            float invScale = maxScale > 0 ? 63f / maxScale : 0f;
            float invMin = maxMin > 0 ? 63f / maxMin : 0f;
            ys.Clear();
            for (int j = 0; j < 8; j++)
            {
                byte ls = Math.Min((byte)63, (byte)KQuantMath.NearestInt(invScale * scales[j]));
                byte lm = Math.Min((byte)63, (byte)KQuantMath.NearestInt(invMin * mins[j]));
                if (j < 4)
                {
                    ys[j] = ls;
                    ys[j + 4] = lm;
                }
                else
                {
                    ys[j + 4] = (byte)((ls & 0xF) | ((lm & 0xF) << 4));
                    ys[j - 4] |= (byte)((ls >> 4) << 6);
                    ys[j] |= (byte)((lm >> 4) << 6);
                }
            }
            ushort dBits = HalfPrecision.ToFp16(maxScale / 63f);
            ushort dminBits = HalfPrecision.ToFp16(maxMin / 63f);
            BinaryPrimitives.WriteUInt16LittleEndian(y, dBits);
            BinaryPrimitives.WriteUInt16LittleEndian(y[2..], dminBits);
            float dAll = HalfPrecision.FromFp16(dBits);
            float dminAll = HalfPrecision.FromFp16(dminBits);

            for (int j = 0; j < 8; j++)
            {
                KQuantMath.GetScaleMinK4(j, ys, out byte sc, out byte m);
                float d = dAll * sc;
                if (d == 0f) continue;
                float dm = dminAll * m;
                if (lanes)
                {
                    KQuantLanes.Requantize(x.Slice(32 * j, 32), dm, d, 0, 15, 0, l.Slice(32 * j, 32));
                    continue;
                }
                for (int k = 0; k < 32; k++)
                {
                    int q = KQuantMath.NearestInt((x[32 * j + k] + dm) / d);
                    l[32 * j + k] = (byte)Math.Max(0, Math.Min(15, q));
                }
            }

            Span<byte> qs = y.Slice(16, 128);
            for (int j = 0, o = 0; j < BlockSize; j += 64, o += 32)
            {
                for (int k = 0; k < 32; k++)
                    qs[o + k] = (byte)(l[j + k] | (l[j + k + 32] << 4));
            }
        }
    }

    /// <summary>The eight sub-block fits of one super-block, one sub-block per lane (bit-identical to the scalar fits).</summary>
    private static void FitLanes(ReadOnlySpan<float> x, Span<byte> l, Span<float> scales, Span<float> mins,
        Span<Vector256<float>> vx, Span<Vector256<float>> vw, Span<Vector256<float>> vl, Span<Vector256<float>> vaux)
    {
        Span<float> lane = stackalloc float[8];
        for (int k = 0; k < 32; k++)
        {
            for (int j = 0; j < 8; j++) lane[j] = x[32 * j + k];
            vx[k] = Vector256.Create<float>(lane);
        }
        Vector256<float> sumX2 = Vector256<float>.Zero;
        for (int k = 0; k < 32; k++) sumX2 += vx[k] * vx[k];
        Vector256<float> avX = Vector256.Sqrt(sumX2 / Vector256.Create(32f));
        for (int k = 0; k < 32; k++) vw[k] = avX + Vector256.Abs(vx[k]);
        Vector256<float> s = KQuantLanes.MakeQkx2Quants(15, vx, vw, vl, out Vector256<float> m, vaux, -1f, 0.1f, 20);
        s.CopyTo(scales);
        m.CopyTo(mins);
        for (int k = 0; k < 32; k++)
        {
            vl[k].CopyTo(lane);
            for (int j = 0; j < 8; j++) l[32 * j + k] = (byte)lane[j];
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
