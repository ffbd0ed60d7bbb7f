namespace Optimizer.Engine.Quantization;

/// <summary>
/// The scalar helpers of ggml's quantizers (ggml-quants.c), in the same float32 operation order so that the chosen
/// scales and codes are bit-identical: <c>nearest_int</c>, C's float-to-int truncation as x86 performs it,
/// <c>make_qkx2_quants</c> (Q2_K, Q4_K, Q5_K), <c>make_qkx3_quants</c> and <c>make_qp_quants</c> (the importance-weighted
/// fits), <c>make_qx_quants</c> with rmse_type 1 with or without importance weights (Q6_K, Q3_K, Q4_0/Q5_0 with an
/// imatrix), <c>make_q3_quants</c> (Q3_K) and <c>get_scale_min_k4</c>.
/// </summary>
internal static class KQuantMath
{
    /// <summary>ggml's <c>GROUP_MAX_EPS</c>: a group whose largest magnitude is below it is all zero.</summary>
    public const float GroupMaxEps = 1e-15f;

    /// <summary>
    /// <c>nearest_int</c>: adds 1.5·2^23 so the float's low mantissa bits hold the rounded integer (round half to
    /// even); valid for |x| ≤ 4194303.
    /// </summary>
    public static int NearestInt(float value)
    {
        float shifted = value + 12582912f;
        int bits = BitConverter.SingleToInt32Bits(shifted);
        return (bits & 0x007FFFFF) - 0x00400000;
    }

    /// <summary>
    /// C's conversion of a float to an integer type (<c>(int8_t)v</c>, <c>(uint8_t)v</c>, <c>(int)v</c>) as the x86
    /// build of ggml performs it (<c>cvttss2si</c>): truncation toward zero, and NaN or values outside the int32 range give
    /// 0x80000000 (.NET's own conversion saturates instead). The caller narrows the result as C would.
    /// </summary>
    public static int Truncate(float value) =>
        value >= -2147483648f && value < 2147483648f ? (int)value : int.MinValue;

    /// <summary>
    /// <c>make_qkx2_quants</c>: an asymmetric (scale, min) fit of <paramref name="x"/> to codes 0..<paramref name="nmax"/>
    /// under weights, searching <paramref name="nstep"/>+1 scale candidates; the error is the weighted squared difference,
    /// or the weighted absolute difference with <paramref name="useMad"/> (Q2_K). Returns the scale;
    /// <paramref name="theMin"/> receives −min (≥ 0).
    /// </summary>
    public static float MakeQkx2Quants(int nmax, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<byte> l,
        out float theMin, Span<byte> laux, float rmin, float rdelta, int nstep, bool useMad = false) =>
        FitScaleMin(nmax, x, weights, l, out theMin, laux, rmin, rdelta, nstep, useMad, flatBelow: false);

    /// <summary>
    /// <c>make_qkx3_quants</c> with importance weights (as every imatrix quantizer calls it) and <c>use_mad = false</c>:
    /// the same search as <see cref="MakeQkx2Quants"/>, except that a group counts as flat when max ≤ min.
    /// </summary>
    public static float MakeQkx3Quants(int nmax, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<byte> l,
        out float theMin, Span<byte> laux, float rmin, float rdelta, int nstep) =>
        FitScaleMin(nmax, x, weights, l, out theMin, laux, rmin, rdelta, nstep, useMad: false, flatBelow: true);

    private static float FitScaleMin(int nmax, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<byte> l,
        out float theMin, Span<byte> laux, float rmin, float rdelta, int nstep, bool useMad, bool flatBelow)
    {
        int n = x.Length;
        float min = x[0];
        float max = x[0];
        float sumW = weights[0];
        float sumX = sumW * x[0];
        for (int i = 1; i < n; i++)
        {
            if (x[i] < min) min = x[i];
            if (x[i] > max) max = x[i];
            float w = weights[i];
            sumW += w;
            sumX += w * x[i];
        }
        if (min > 0) min = 0;
        if (flatBelow ? max <= min : max == min)
        {
            l[..n].Clear();
            theMin = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++)
        {
            int li = NearestInt(iscale * (x[i] - min));
            l[i] = (byte)Math.Max(0, Math.Min(nmax, li));
            float diff = scale * l[i] + min - x[i];
            diff = useMad ? MathF.Abs(diff) : diff * diff;
            bestError += weights[i] * diff;
        }
        if (nstep < 1)
        {
            theMin = -min;
            return scale;
        }
        for (int step = 0; step <= nstep; step++)
        {
            iscale = (rmin + rdelta * step + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++)
            {
                int li = NearestInt(iscale * (x[i] - min));
                li = Math.Max(0, Math.Min(nmax, li));
                laux[i] = (byte)li;
                float w = weights[i];
                sumL += w * li;
                sumL2 += w * li * li;
                sumXL += w * li * x[i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0)
            {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0)
                {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float curError = 0;
                for (int i = 0; i < n; i++)
                {
                    float diff = thisScale * laux[i] + thisMin - x[i];
                    diff = useMad ? MathF.Abs(diff) : diff * diff;
                    curError += weights[i] * diff;
                }
                if (curError < bestError)
                {
                    laux[..n].CopyTo(l);
                    bestError = curError;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin = -min;
        return scale;
    }

    /// <summary>
    /// <c>make_qx_quants(n, nmax, x, L, rmse_type = 1, qw = NULL)</c>: a symmetric fit to codes −nmax..nmax−1 (stored
    /// offset by nmax) weighted by x², trying 18 scale candidates around −nmax/max. Returns the scale.
    /// </summary>
    public static float MakeQxQuants(int nmax, ReadOnlySpan<float> x, Span<sbyte> l) => MakeQxQuants(nmax, x, default, l);

    /// <summary>
    /// <c>make_qx_quants(n, nmax, x, L, rmse_type = 1, qw)</c>: as <see cref="MakeQxQuants(int, ReadOnlySpan{float}, Span{sbyte})"/>
    /// with the importance weights <paramref name="weights"/> in place of x² (empty: x²).
    /// </summary>
    public static float MakeQxQuants(int nmax, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<sbyte> l)
    {
        int n = x.Length;
        bool weighted = !weights.IsEmpty;
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }
        if (amax < GroupMaxEps)
        {
            l[..n].Clear();
            return 0f;
        }
        float iscale = -nmax / max;
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; i++)
        {
            int li = NearestInt(iscale * x[i]);
            li = Math.Max(-nmax, Math.Min(nmax - 1, li));
            l[i] = (sbyte)(li + nmax);
            float w = weighted ? weights[i] : x[i] * x[i];
            sumlx += w * x[i] * li;
            suml2 += w * li * li;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0f;
        float best = scale * sumlx;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0)
                continue;
            iscale = -(nmax + 0.1f * step) / max;
            sumlx = suml2 = 0;
            for (int i = 0; i < n; i++)
            {
                int li = NearestInt(iscale * x[i]);
                li = Math.Max(-nmax, Math.Min(nmax - 1, li));
                float w = weighted ? weights[i] : x[i] * x[i];
                sumlx += w * x[i] * li;
                suml2 += w * li * li;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2)
            {
                for (int i = 0; i < n; i++)
                {
                    int li = NearestInt(iscale * x[i]);
                    l[i] = (sbyte)(nmax + Math.Max(-nmax, Math.Min(nmax - 1, li)));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    /// <summary>
    /// <c>make_q3_quants(n, nmax, x, L, do_rmse = true)</c> (Q3_K without an imatrix): codes −nmax..nmax−1 from −nmax/max,
    /// then up to 5 passes that move single codes while the x²-weighted fit improves. Codes are stored offset by nmax.
    /// </summary>
    public static float MakeQ3Quants(int nmax, ReadOnlySpan<float> x, Span<sbyte> l)
    {
        int n = x.Length;
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }
        if (amax < GroupMaxEps)
        {
            l[..n].Clear();
            return 0f;
        }
        float iscale = -nmax / max;
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; i++)
        {
            int li = NearestInt(iscale * x[i]);
            li = Math.Max(-nmax, Math.Min(nmax - 1, li));
            l[i] = (sbyte)li;
            float w = x[i] * x[i];
            sumlx += w * x[i] * li;
            suml2 += w * li * li;
        }
        for (int itry = 0; itry < 5; itry++)
        {
            int changed = 0;
            for (int i = 0; i < n; i++)
            {
                float w = x[i] * x[i];
                float slx = sumlx - w * x[i] * l[i];
                if (slx > 0)
                {
                    float sl2 = suml2 - w * l[i] * l[i];
                    int newL = NearestInt(x[i] * sl2 / slx);
                    newL = Math.Max(-nmax, Math.Min(nmax - 1, newL));
                    if (newL != l[i])
                    {
                        slx += w * x[i] * newL;
                        sl2 += w * newL * newL;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2)
                        {
                            l[i] = (sbyte)newL;
                            sumlx = slx;
                            suml2 = sl2;
                            changed++;
                        }
                    }
                }
            }
            if (changed == 0)
                break;
        }
        for (int i = 0; i < n; i++)
            l[i] += (sbyte)nmax;
        return suml2 > 0f ? sumlx / suml2 : 0f;
    }

    /// <summary>
    /// <c>make_qp_quants</c>: fits non-negative values (the sub-block scales or mins of an imatrix k-quant) to codes
    /// 0..<paramref name="nmax"/> under <paramref name="weights"/>: best of 9 scales around nmax/max by weighted squared
    /// error, then up to 5 passes moving single codes. Codes are stored as C's <c>uint8_t</c> (wrapping); returns the scale.
    /// </summary>
    public static float MakeQpQuants(int nmax, ReadOnlySpan<float> x, Span<byte> l, ReadOnlySpan<float> weights)
    {
        int n = x.Length;
        float max = 0;
        for (int i = 0; i < n; i++)
            max = max > x[i] ? max : x[i];
        if (max < GroupMaxEps)
        {
            l[..n].Clear();
            return 0f;
        }
        float iscale = nmax / max;
        for (int i = 0; i < n; i++)
            l[i] = (byte)NearestInt(iscale * x[i]);
        float scale = 1 / iscale;
        float bestMse = 0;
        for (int i = 0; i < n; i++)
        {
            float diff = x[i] - scale * l[i];
            float w = weights[i];
            bestMse += w * diff * diff;
        }
        for (int step = -4; step <= 4; step++)
        {
            if (step == 0)
                continue;
            float iscaleStep = (0.1f * step + nmax) / max;
            float scaleStep = 1 / iscaleStep;
            float mse = 0;
            for (int i = 0; i < n; i++)
            {
                int li = Math.Min(nmax, NearestInt(iscaleStep * x[i]));
                float diff = x[i] - scaleStep * li;
                float w = weights[i];
                mse += w * diff * diff;
            }
            if (mse < bestMse)
            {
                bestMse = mse;
                iscale = iscaleStep;
            }
        }
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; i++)
        {
            int li = Math.Min(nmax, NearestInt(iscale * x[i]));
            l[i] = (byte)li;
            float w = weights[i];
            sumlx += w * x[i] * li;
            suml2 += w * li * li;
        }
        for (int itry = 0; itry < 5; itry++)
        {
            int changed = 0;
            for (int i = 0; i < n; i++)
            {
                float w = weights[i];
                float slx = sumlx - w * x[i] * l[i];
                float sl2 = suml2 - w * l[i] * l[i];
                if (slx > 0 && sl2 > 0)
                {
                    int newL = Math.Min(nmax, NearestInt(x[i] * sl2 / slx));
                    if (newL != l[i])
                    {
                        slx += w * x[i] * newL;
                        sl2 += w * newL * newL;
                        if (slx * slx * suml2 > sumlx * sumlx * sl2)
                        {
                            l[i] = (byte)newL;
                            sumlx = slx;
                            suml2 = sl2;
                            changed++;
                        }
                    }
                }
            }
            if (changed == 0)
                break;
        }
        return suml2 > 0f ? sumlx / suml2 : 0f;
    }

    /// <summary><c>get_scale_min_k4</c>: the 6-bit scale and min of sub-block <paramref name="j"/> from the 12 packed bytes.</summary>
    public static void GetScaleMinK4(int j, ReadOnlySpan<byte> q, out byte d, out byte m)
    {
        if (j < 4)
        {
            d = (byte)(q[j] & 63);
            m = (byte)(q[j + 4] & 63);
        }
        else
        {
            d = (byte)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
            m = (byte)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
        }
    }
}
