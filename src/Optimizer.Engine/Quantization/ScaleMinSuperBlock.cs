using System.Buffers.Binary;
using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// What Q4_K and Q5_K share (they differ only in nmax, the fit's search parameters and how codes are packed): eight
/// sub-blocks of 32 fitted with a (scale, min) each, the 6-bit scales and mins packed into 12 bytes with fp16 d and dmin
/// in front, and the codes recomputed from the stored values.
/// <list type="bullet">
/// <item>Reference (<c>quantize_row_q4_K_ref</c>/<c>_q5_K_ref</c>): weights <c>av_x + |x|</c> with av_x = √(Σx²/32) of the
/// sub-block, <c>make_qkx2_quants</c>; scales and mins to 6 bits against their maxima.</item>
/// <item>Importance (<c>quantize_row_q4_K_impl</c>/<c>_q5_K_impl</c>): weights <c>qw·√(σ² + x²)</c> with σ² = 2·Σx²/256 of the
/// super-block, <c>make_qkx3_quants</c> (rmin −0.9, rdelta 0.05, 36 steps); scales and mins by <c>make_qp_quants(8, 63, …)</c>
/// weighted by the sub-blocks' weight sums.</item>
/// </list>
/// </summary>
internal ref struct ScaleMinSuperBlock
{
    private readonly int _nmax;
    private readonly bool _lanes;
    private Span<byte> _laux;
    private Span<float> _weights;
    private Span<float> _sw;
    private Span<Vector256<float>> _vx, _vw, _vl, _vaux;

    /// <summary>The fits of one type (<paramref name="nmax"/> 15 or 31), with the lane-parallel fit or the scalar one.</summary>
    public ScaleMinSuperBlock(int nmax, bool lanes, Span<byte> laux32, Span<float> weights256, Span<float> sw8,
        Span<Vector256<float>> vx32, Span<Vector256<float>> vw32, Span<Vector256<float>> vl32, Span<Vector256<float>> vaux32)
    {
        _nmax = nmax;
        _lanes = lanes;
        _laux = laux32;
        _weights = weights256;
        _sw = sw8;
        _vx = vx32;
        _vw = vw32;
        _vl = vl32;
        _vaux = vaux32;
    }

    /// <summary>
    /// The reference fits of the 256 values <paramref name="x"/> into codes <paramref name="l"/>, then the packed scales,
    /// d and dmin into the first 16 bytes of <paramref name="y"/>.
    /// </summary>
    public readonly void FitReference(ReadOnlySpan<float> x, Span<byte> y, Span<byte> l, Span<float> scales, Span<float> mins,
        float rmin, float rdelta, int nstep)
    {
        for (int j = 0; j < 8; j++)
        {
            ReadOnlySpan<float> xb = x.Slice(32 * j, 32);
            float sumX2 = 0;
            for (int k = 0; k < 32; k++) sumX2 += xb[k] * xb[k];
            float avX = MathF.Sqrt(sumX2 / 32);
            for (int k = 0; k < 32; k++) _weights[32 * j + k] = avX + MathF.Abs(xb[k]);
        }
        Fit(x, l, scales, mins, rmin, rdelta, nstep, flatBelow: false);

        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++)
        {
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        Span<byte> ys = y.Slice(4, 12);
        for (int j = 0; j < 8; j++)
        {
            byte ls = Math.Min((byte)63, (byte)KQuantMath.NearestInt(invScale * scales[j]));
            byte lm = Math.Min((byte)63, (byte)KQuantMath.NearestInt(invMin * mins[j]));
            PackScaleMin(ys, j, ls, lm);
        }
        BinaryPrimitives.WriteUInt16LittleEndian(y, HalfPrecision.ToFp16(maxScale / 63f));
        BinaryPrimitives.WriteUInt16LittleEndian(y[2..], HalfPrecision.ToFp16(maxMin / 63f));
    }

    /// <summary>
    /// The importance-weighted fits of the 256 values <paramref name="x"/> (importance <paramref name="qw"/>) into codes
    /// <paramref name="l"/>, then the packed scales (clamped to 63 when <paramref name="clampCodes"/>, as Q5_K does and
    /// Q4_K does not), d and dmin into the first 16 bytes of <paramref name="y"/>.
    /// </summary>
    public readonly void FitWeighted(ReadOnlySpan<float> x, ReadOnlySpan<float> qw, Span<byte> y, Span<byte> l, Span<float> scales,
        Span<float> mins, bool clampCodes)
    {
        float sumX2 = 0;
        for (int k = 0; k < 256; k++) sumX2 += x[k] * x[k];
        float sigma2 = 2 * sumX2 / 256;
        for (int k = 0; k < 256; k++) _weights[k] = qw[k] * MathF.Sqrt(sigma2 + x[k] * x[k]);
        for (int j = 0; j < 8; j++)
        {
            float s = 0;
            for (int k = 0; k < 32; k++) s += _weights[32 * j + k];
            _sw[j] = s;
        }
        Fit(x, l, scales, mins, -0.9f, 0.05f, 36, flatBelow: true);

        Span<byte> ls = stackalloc byte[8];
        Span<byte> lm = stackalloc byte[8];
        float dBlock = KQuantMath.MakeQpQuants(63, scales, ls, _sw);
        float mBlock = KQuantMath.MakeQpQuants(63, mins, lm, _sw);
        Span<byte> ys = y.Slice(4, 12);
        for (int j = 0; j < 8; j++)
        {
            byte s = clampCodes ? Math.Min((byte)63, ls[j]) : ls[j];
            byte m = clampCodes ? Math.Min((byte)63, lm[j]) : lm[j];
            PackScaleMin(ys, j, s, m);
        }
        BinaryPrimitives.WriteUInt16LittleEndian(y, HalfPrecision.ToFp16(dBlock));
        BinaryPrimitives.WriteUInt16LittleEndian(y[2..], HalfPrecision.ToFp16(mBlock));
    }

    private readonly void Fit(ReadOnlySpan<float> x, Span<byte> l, Span<float> scales, Span<float> mins, float rmin, float rdelta,
        int nstep, bool flatBelow)
    {
        if (_lanes)
        {
            BlockQuantLanes.Transpose(x, 32, 8, _vx);
            BlockQuantLanes.Transpose(_weights, 32, 8, _vw);
            Vector256<float> s = KQuantLanes.MakeQkx2Quants(_nmax, _vx, _vw, _vl, out Vector256<float> m, _vaux, rmin, rdelta, nstep,
                flatBelow: flatBelow);
            s.CopyTo(scales);
            m.CopyTo(mins);
            BlockQuantLanes.Untranspose(_vl, 32, 8, l);
            return;
        }
        for (int j = 0; j < 8; j++)
        {
            ReadOnlySpan<float> xb = x.Slice(32 * j, 32);
            ReadOnlySpan<float> wb = _weights.Slice(32 * j, 32);
            scales[j] = flatBelow
                ? KQuantMath.MakeQkx3Quants(_nmax, xb, wb, l.Slice(32 * j, 32), out mins[j], _laux, rmin, rdelta, nstep)
                : KQuantMath.MakeQkx2Quants(_nmax, xb, wb, l.Slice(32 * j, 32), out mins[j], _laux, rmin, rdelta, nstep);
        }
    }

    /// <summary>Stores the 6-bit scale and min of sub-block <paramref name="j"/> as ggml packs them (the inverse of get_scale_min_k4).</summary>
    private static void PackScaleMin(Span<byte> ys, int j, byte ls, byte lm)
    {
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

    /// <summary>
    /// Codes recomputed from the stored d, dmin and 6-bit values: <c>clamp(nearest_int((x + dm)/d), 0, nmax)</c> for each
    /// sub-block whose d is not 0 (the others keep their fitted codes).
    /// </summary>
    public readonly void Requantize(ReadOnlySpan<float> x, ReadOnlySpan<byte> y, Span<byte> l)
    {
        ReadOnlySpan<byte> ys = y.Slice(4, 12);
        float dAll = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(y));
        float dminAll = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(y[2..]));
        for (int j = 0; j < 8; j++)
        {
            KQuantMath.GetScaleMinK4(j, ys, out byte sc, out byte m);
            float d = dAll * sc;
            if (d == 0f) continue;
            float dm = dminAll * m;
            if (_lanes)
            {
                KQuantLanes.Requantize(x.Slice(32 * j, 32), dm, d, 0, _nmax, 0, l.Slice(32 * j, 32));
                continue;
            }
            for (int k = 0; k < 32; k++)
            {
                int q = KQuantMath.NearestInt((x[32 * j + k] + dm) / d);
                l[32 * j + k] = (byte)Math.Max(0, Math.Min(_nmax, q));
            }
        }
    }
}
