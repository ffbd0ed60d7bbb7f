using System.Buffers.Binary;
using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// Q2_K super-blocks (<c>block_q2_K</c>: 16 bytes of scales (low nibble) and mins (high nibble), 64 bytes of 2-bit codes,
/// fp16 d, fp16 dmin). Without an importance matrix bit-identical to ggml's <c>quantize_row_q2_K_ref</c>: sixteen
/// sub-blocks of 16 fitted with <c>make_qkx2_quants</c> (weights |x|, absolute error, rmin −0.5, rdelta 0.1, 15 steps),
/// scales and mins quantized to 4 bits against their maxima, codes recomputed from the stored values. With one, to
/// <c>quantize_row_q2_K_impl</c>: weights <c>qw·√(σ² + x²)</c> (σ² the super-block's mean square),
/// <c>make_qkx3_quants</c> (rmin −0.9, rdelta 0.05, 36 steps), scales and mins by <c>make_qp_quants</c> weighted by the
/// sub-blocks' weight sums.
/// </summary>
internal static class Q2_KKernel
{
    public const int BlockSize = 256;
    public const int BlockBytes = 84;

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
        bool weighted = !importance.IsEmpty;
        int blocksPerRow = weighted ? importance.Length / BlockSize : 1;
        Span<byte> l = stackalloc byte[BlockSize];
        Span<byte> laux = stackalloc byte[16];
        Span<float> weights = stackalloc float[BlockSize];
        Span<float> scales = stackalloc float[16];
        Span<float> mins = stackalloc float[16];
        Span<float> sw = stackalloc float[16];
        Span<byte> ls = stackalloc byte[16];
        Span<byte> lm = stackalloc byte[16];
        Span<Vector256<float>> vx = lanes ? stackalloc Vector256<float>[16] : default;
        Span<Vector256<float>> vw = lanes ? stackalloc Vector256<float>[16] : default;
        Span<Vector256<float>> vl = lanes ? stackalloc Vector256<float>[16] : default;
        Span<Vector256<float>> vaux = lanes ? stackalloc Vector256<float>[16] : default;
        int blocks = src.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<float> x = src.Slice(i * BlockSize, BlockSize);
            Span<byte> y = dst.Slice(i * BlockBytes, BlockBytes);
            Span<byte> ys = y[..16];
            if (!weighted)
            {
                for (int k = 0; k < BlockSize; k++) weights[k] = MathF.Abs(x[k]);
                Fit(x, weights, l, scales, mins, laux, lanes, vx, vw, vl, vaux, -0.5f, 0.1f, 15, useMad: true, flatBelow: false);
                EncodeReferenceScales(scales, mins, y);
            }
            else
            {
                ReadOnlySpan<float> qw = importance.Slice(i % blocksPerRow * BlockSize, BlockSize);
                float sumX2 = 0;
                for (int k = 0; k < BlockSize; k++) sumX2 += x[k] * x[k];
                float sigma2 = sumX2 / BlockSize;
                for (int k = 0; k < BlockSize; k++) weights[k] = qw[k] * MathF.Sqrt(sigma2 + x[k] * x[k]);
                for (int j = 0; j < 16; j++)
                {
                    float s = 0;
                    for (int k = 0; k < 16; k++) s += weights[16 * j + k];
                    sw[j] = s;
                }
                Fit(x, weights, l, scales, mins, laux, lanes, vx, vw, vl, vaux, -0.9f, 0.05f, 36, useMad: false, flatBelow: true);
                float dm = KQuantMath.MakeQpQuants(15, scales, ls, sw);
                float mm = KQuantMath.MakeQpQuants(15, mins, lm, sw);
                BinaryPrimitives.WriteUInt16LittleEndian(y[80..], HalfPrecision.ToFp16(dm));
                BinaryPrimitives.WriteUInt16LittleEndian(y[82..], HalfPrecision.ToFp16(mm));
                for (int j = 0; j < 16; j++) ys[j] = (byte)(ls[j] | (lm[j] << 4));
            }
            Requantize(x, y, l, lanes);
            Span<byte> qs = y.Slice(16, 64);
            for (int j = 0, o = 0; j < BlockSize; j += 128, o += 32)
            {
                for (int k = 0; k < 32; k++)
                    qs[o + k] = (byte)(l[j + k] | (l[j + k + 32] << 2) | (l[j + k + 64] << 4) | (l[j + k + 96] << 6));
            }
        }
    }

    /// <summary>The sixteen (scale, min) fits of one super-block: <c>make_qkx2_quants</c> or <c>make_qkx3_quants</c>.</summary>
    private static void Fit(ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<byte> l, Span<float> scales, Span<float> mins,
        Span<byte> laux, bool lanes, Span<Vector256<float>> vx, Span<Vector256<float>> vw, Span<Vector256<float>> vl,
        Span<Vector256<float>> vaux, float rmin, float rdelta, int nstep, bool useMad, bool flatBelow)
    {
        if (lanes)
        {
            for (int first = 0; first < 16; first += 8)
            {
                BlockQuantLanes.Transpose(x.Slice(16 * first, 128), 16, 8, vx);
                BlockQuantLanes.Transpose(weights.Slice(16 * first, 128), 16, 8, vw);
                Vector256<float> s = KQuantLanes.MakeQkx2Quants(3, vx, vw, vl, out Vector256<float> m, vaux, rmin, rdelta, nstep, useMad, flatBelow);
                s.CopyTo(scales[first..]);
                m.CopyTo(mins[first..]);
                BlockQuantLanes.Untranspose(vl, 16, 8, l.Slice(16 * first, 128));
            }
            return;
        }
        for (int j = 0; j < 16; j++)
        {
            ReadOnlySpan<float> xb = x.Slice(16 * j, 16);
            ReadOnlySpan<float> wb = weights.Slice(16 * j, 16);
            scales[j] = flatBelow
                ? KQuantMath.MakeQkx3Quants(3, xb, wb, l.Slice(16 * j, 16), out mins[j], laux, rmin, rdelta, nstep)
                : KQuantMath.MakeQkx2Quants(3, xb, wb, l.Slice(16 * j, 16), out mins[j], laux, rmin, rdelta, nstep, useMad);
        }
    }

    /// <summary><c>quantize_row_q2_K_ref</c>'s 4-bit scales and mins against their maxima, d and dmin.</summary>
    private static void EncodeReferenceScales(ReadOnlySpan<float> scales, ReadOnlySpan<float> mins, Span<byte> y)
    {
        const float q4scale = 15f;
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 16; j++)
        {
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }
        Span<byte> ys = y[..16];
        if (maxScale > 0)
        {
            float iscale = q4scale / maxScale;
            for (int j = 0; j < 16; j++) ys[j] = (byte)KQuantMath.NearestInt(iscale * scales[j]);
            BinaryPrimitives.WriteUInt16LittleEndian(y[80..], HalfPrecision.ToFp16(maxScale / q4scale));
        }
        else
        {
            ys.Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(y[80..], HalfPrecision.ToFp16(0f));
        }
        if (maxMin > 0)
        {
            float iscale = q4scale / maxMin;
            for (int j = 0; j < 16; j++) ys[j] |= (byte)(KQuantMath.NearestInt(iscale * mins[j]) << 4);
            BinaryPrimitives.WriteUInt16LittleEndian(y[82..], HalfPrecision.ToFp16(maxMin / q4scale));
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(y[82..], HalfPrecision.ToFp16(0f));
        }
    }

    /// <summary>Codes recomputed from the stored scales: <c>clamp(nearest_int((x + dm)/d), 0, 3)</c> where d ≠ 0.</summary>
    private static void Requantize(ReadOnlySpan<float> x, ReadOnlySpan<byte> y, Span<byte> l, bool lanes)
    {
        float dAll = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(y[80..]));
        float dminAll = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(y[82..]));
        for (int j = 0; j < 16; j++)
        {
            float d = dAll * (y[j] & 0xF);
            if (d == 0f) continue;
            float dm = dminAll * (y[j] >> 4);
            if (lanes)
            {
                KQuantLanes.Requantize(x.Slice(16 * j, 16), dm, d, 0, 3, 0, l.Slice(16 * j, 16));
                continue;
            }
            for (int k = 0; k < 16; k++)
            {
                int q = KQuantMath.NearestInt((x[16 * j + k] + dm) / d);
                l[16 * j + k] = (byte)Math.Max(0, Math.Min(3, q));
            }
        }
    }

    /// <summary><c>dequantize_row_q2_K</c>: <c>x = d·scale·q − dmin·min</c> per sub-block of 16.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = dst.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<byte> b = src.Slice(i * BlockBytes, BlockBytes);
            float d = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(b[80..]));
            float min = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(b[82..]));
            Span<float> y = dst.Slice(i * BlockSize, BlockSize);
            int o = 0, s = 0;
            for (int n = 0, qo = 16; n < BlockSize; n += 128, qo += 32)
            {
                for (int shift = 0; shift < 8; shift += 2)
                {
                    for (int half = 0; half < 32; half += 16)
                    {
                        byte sc = b[s++];
                        float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                        for (int k = 0; k < 16; k++)
                            y[o++] = dl * ((b[qo + half + k] >> shift) & 3) - ml;
                    }
                }
            }
        }
    }
}
