using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// The k-quant fits of <see cref="KQuantMath"/> run for 8 independent groups at once, one group per Vector256 lane.
/// Every lane performs exactly the scalar sequence of float32 operations of its group (same operands, same order, sums
/// accumulated element by element, no fused multiply-add); branches become per-lane selections. So each lane's result
/// is bit-identical to the scalar reference, and the vector path only removes the per-group loop overhead.
/// Inputs and outputs are "transposed": element i of all 8 groups is one vector.
/// </summary>
internal static class KQuantLanes
{
    /// <summary><c>nearest_int</c> per lane (valid for |x| ≤ 4194303).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> NearestInt(Vector256<float> value)
    {
        Vector256<int> bits = (value + Vector256.Create(12582912f)).AsInt32();
        return (bits & Vector256.Create(0x007FFFFF)) - Vector256.Create(0x00400000);
    }

    /// <summary>
    /// <see cref="KQuantMath.MakeQkx2Quants"/> for 8 groups of <paramref name="x"/>.Length elements; codes are written to
    /// <paramref name="l"/> as floats. <paramref name="flatBelow"/> gives <see cref="KQuantMath.MakeQkx3Quants"/>'s
    /// flat test (max ≤ min) instead of max = min.
    /// </summary>
    public static Vector256<float> MakeQkx2Quants(int nmax, ReadOnlySpan<Vector256<float>> x, ReadOnlySpan<Vector256<float>> weights,
        Span<Vector256<float>> l, out Vector256<float> theMin, Span<Vector256<float>> laux, float rmin, float rdelta, int nstep,
        bool useMad = false, bool flatBelow = false)
    {
        int n = x.Length;
        Vector256<float> zero = Vector256<float>.Zero;
        Vector256<float> vnmax = Vector256.Create((float)nmax);
        Vector256<int> inmax = Vector256.Create(nmax);
        Vector256<float> min = x[0], max = x[0];
        Vector256<float> sumW = weights[0];
        Vector256<float> sumX = sumW * x[0];
        for (int i = 1; i < n; i++)
        {
            min = Vector256.ConditionalSelect(Vector256.LessThan(x[i], min), x[i], min);
            max = Vector256.ConditionalSelect(Vector256.GreaterThan(x[i], max), x[i], max);
            Vector256<float> w = weights[i];
            sumW += w;
            sumX += w * x[i];
        }
        min = Vector256.ConditionalSelect(Vector256.GreaterThan(min, zero), zero, min);
        Vector256<float> flat = flatBelow ? Vector256.LessThanOrEqual(max, min) : Vector256.Equals(max, min);
        Vector256<float> flatMin = min;
        Vector256<float> iscale = vnmax / (max - min);
        Vector256<float> scale = Vector256.Create(1f) / iscale;
        Vector256<float> bestError = zero;
        for (int i = 0; i < n; i++)
        {
            Vector256<int> li = Vector256.Max(Vector256<int>.Zero, Vector256.Min(inmax, NearestInt(iscale * (x[i] - min))));
            Vector256<float> lf = Vector256.ConvertToSingle(li);
            l[i] = lf;
            Vector256<float> diff = scale * lf + min - x[i];
            diff = useMad ? Vector256.Abs(diff) : diff * diff;
            bestError += weights[i] * diff;
        }
        for (int step = 0; step <= nstep && nstep >= 1; step++)
        {
            // min changes when a step wins, and later steps use the new one (as the reference does).
            iscale = Vector256.Create(rmin + rdelta * step + nmax) / (max - min);
            Vector256<float> sumL = zero, sumL2 = zero, sumXL = zero;
            for (int i = 0; i < n; i++)
            {
                Vector256<int> li = Vector256.Max(Vector256<int>.Zero, Vector256.Min(inmax, NearestInt(iscale * (x[i] - min))));
                Vector256<float> lf = Vector256.ConvertToSingle(li);
                laux[i] = lf;
                Vector256<float> wl = weights[i] * lf;
                sumL += wl;
                sumL2 += wl * lf;
                sumXL += wl * x[i];
            }
            Vector256<float> det = sumW * sumL2 - sumL * sumL;
            Vector256<float> positive = Vector256.GreaterThan(det, zero);
            if (positive == Vector256<float>.Zero)
                continue;
            Vector256<float> thisScale = (sumW * sumXL - sumX * sumL) / det;
            Vector256<float> thisMin = (sumL2 * sumX - sumL * sumXL) / det;
            Vector256<float> clampMin = Vector256.GreaterThan(thisMin, zero);
            thisMin = Vector256.ConditionalSelect(clampMin, zero, thisMin);
            thisScale = Vector256.ConditionalSelect(clampMin, sumXL / sumL2, thisScale);
            Vector256<float> curError = zero;
            for (int i = 0; i < n; i++)
            {
                Vector256<float> diff = thisScale * laux[i] + thisMin - x[i];
                diff = useMad ? Vector256.Abs(diff) : diff * diff;
                curError += weights[i] * diff;
            }
            Vector256<float> better = positive & Vector256.LessThan(curError, bestError);
            if (better == Vector256<float>.Zero)
                continue;
            for (int i = 0; i < n; i++)
                l[i] = Vector256.ConditionalSelect(better, laux[i], l[i]);
            bestError = Vector256.ConditionalSelect(better, curError, bestError);
            scale = Vector256.ConditionalSelect(better, thisScale, scale);
            min = Vector256.ConditionalSelect(better, thisMin, min);
        }
        if (flat != Vector256<float>.Zero)
        {
            for (int i = 0; i < n; i++)
                l[i] = Vector256.ConditionalSelect(flat, zero, l[i]);
            scale = Vector256.ConditionalSelect(flat, zero, scale);
            min = Vector256.ConditionalSelect(flat, flatMin, min);
        }
        theMin = -min;
        return scale;
    }

    /// <summary>
    /// <see cref="KQuantMath.MakeQxQuants(int, ReadOnlySpan{float}, Span{sbyte})"/> for 8 groups; codes (offset by nmax)
    /// are written to <paramref name="l"/> as ints.
    /// </summary>
    public static Vector256<float> MakeQxQuants(int nmax, ReadOnlySpan<Vector256<float>> x, Span<Vector256<int>> l) =>
        MakeQxQuants(nmax, x, default, l);

    /// <summary>
    /// <see cref="KQuantMath.MakeQxQuants(int, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{sbyte})"/> for 8 groups with
    /// per-lane importance weights (empty: x²); codes (offset by nmax) are written to <paramref name="l"/> as ints.
    /// </summary>
    public static Vector256<float> MakeQxQuants(int nmax, ReadOnlySpan<Vector256<float>> x, ReadOnlySpan<Vector256<float>> weights,
        Span<Vector256<int>> l)
    {
        int n = x.Length;
        bool weighted = !weights.IsEmpty;
        Vector256<float> zero = Vector256<float>.Zero;
        Vector256<int> lo = Vector256.Create(-nmax), hi = Vector256.Create(nmax - 1), offset = Vector256.Create(nmax);
        Vector256<float> max = zero, amax = zero;
        for (int i = 0; i < n; i++)
        {
            Vector256<float> ax = Vector256.Abs(x[i]);
            Vector256<float> larger = Vector256.GreaterThan(ax, amax);
            amax = Vector256.ConditionalSelect(larger, ax, amax);
            max = Vector256.ConditionalSelect(larger, x[i], max);
        }
        Vector256<float> empty = Vector256.LessThan(amax, Vector256.Create(KQuantMath.GroupMaxEps));
        Vector256<float> iscale = Vector256.Create((float)-nmax) / max;
        Vector256<float> sumlx = zero, suml2 = zero;
        for (int i = 0; i < n; i++)
        {
            Vector256<int> li = Vector256.Max(lo, Vector256.Min(hi, NearestInt(iscale * x[i])));
            l[i] = li + offset;
            Vector256<float> lf = Vector256.ConvertToSingle(li);
            Vector256<float> w = weighted ? weights[i] : x[i] * x[i];
            sumlx += w * x[i] * lf;
            suml2 += w * lf * lf;
        }
        Vector256<float> scale = Vector256.ConditionalSelect(Vector256.Equals(suml2, zero), zero, sumlx / suml2);
        Vector256<float> best = scale * sumlx;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0)
                continue;
            iscale = Vector256.Create(-(nmax + 0.1f * step)) / max;
            sumlx = zero;
            suml2 = zero;
            for (int i = 0; i < n; i++)
            {
                Vector256<float> lf = Vector256.ConvertToSingle(Vector256.Max(lo, Vector256.Min(hi, NearestInt(iscale * x[i]))));
                Vector256<float> w = weighted ? weights[i] : x[i] * x[i];
                sumlx += w * x[i] * lf;
                suml2 += w * lf * lf;
            }
            Vector256<float> better = Vector256.GreaterThan(suml2, zero) & Vector256.GreaterThan(sumlx * sumlx, best * suml2);
            if (better == Vector256<float>.Zero)
                continue;
            Vector256<int> take = better.AsInt32();
            for (int i = 0; i < n; i++)
                l[i] = Vector256.ConditionalSelect(take, Vector256.Max(lo, Vector256.Min(hi, NearestInt(iscale * x[i]))) + offset, l[i]);
            scale = Vector256.ConditionalSelect(better, sumlx / suml2, scale);
            best = Vector256.ConditionalSelect(better, scale * sumlx, best);
        }
        if (empty != Vector256<float>.Zero)
        {
            Vector256<int> clear = empty.AsInt32();
            for (int i = 0; i < n; i++)
                l[i] = Vector256.ConditionalSelect(clear, Vector256<int>.Zero, l[i]);
            scale = Vector256.ConditionalSelect(empty, zero, scale);
        }
        return scale;
    }

    /// <summary>
    /// <see cref="KQuantMath.MakeQ3Quants"/> for 8 groups; codes (offset by nmax) are written to <paramref name="l"/> as
    /// ints. A lane whose pass changed nothing would change nothing in a further pass (its state is the same), so passes
    /// continue while any lane changes, as each lane's scalar loop would.
    /// </summary>
    public static Vector256<float> MakeQ3Quants(int nmax, ReadOnlySpan<Vector256<float>> x, Span<Vector256<int>> l)
    {
        int n = x.Length;
        Vector256<float> zero = Vector256<float>.Zero;
        Vector256<int> lo = Vector256.Create(-nmax), hi = Vector256.Create(nmax - 1);
        Vector256<float> max = zero, amax = zero;
        for (int i = 0; i < n; i++)
        {
            Vector256<float> ax = Vector256.Abs(x[i]);
            Vector256<float> larger = Vector256.GreaterThan(ax, amax);
            amax = Vector256.ConditionalSelect(larger, ax, amax);
            max = Vector256.ConditionalSelect(larger, x[i], max);
        }
        Vector256<float> empty = Vector256.LessThan(amax, Vector256.Create(KQuantMath.GroupMaxEps));
        Vector256<float> iscale = Vector256.Create((float)-nmax) / max;
        Vector256<float> sumlx = zero, suml2 = zero;
        for (int i = 0; i < n; i++)
        {
            Vector256<int> li = Vector256.Max(lo, Vector256.Min(hi, NearestInt(iscale * x[i])));
            l[i] = li;
            Vector256<float> lf = Vector256.ConvertToSingle(li);
            Vector256<float> w = x[i] * x[i];
            sumlx += w * x[i] * lf;
            suml2 += w * lf * lf;
        }
        for (int itry = 0; itry < 5; itry++)
        {
            Vector256<float> changed = zero;
            for (int i = 0; i < n; i++)
            {
                Vector256<float> w = x[i] * x[i];
                Vector256<float> li = Vector256.ConvertToSingle(l[i]);
                Vector256<float> slx = sumlx - w * x[i] * li;
                Vector256<float> sl2 = suml2 - w * li * li;
                Vector256<int> newL = Vector256.Max(lo, Vector256.Min(hi, NearestInt(x[i] * sl2 / slx)));
                Vector256<float> nf = Vector256.ConvertToSingle(newL);
                Vector256<float> slx2 = slx + w * x[i] * nf;
                Vector256<float> sl22 = sl2 + w * nf * nf;
                Vector256<float> take = Vector256.GreaterThan(slx, zero)
                    & ~Vector256.Equals(newL, l[i]).AsSingle()
                    & Vector256.GreaterThan(sl22, zero)
                    & Vector256.GreaterThan(slx2 * slx2 * suml2, sumlx * sumlx * sl22);
                // Most elements change in no lane: branching keeps the sums off the dependency chain then.
                if (take == Vector256<float>.Zero)
                    continue;
                l[i] = Vector256.ConditionalSelect(take.AsInt32(), newL, l[i]);
                sumlx = Vector256.ConditionalSelect(take, slx2, sumlx);
                suml2 = Vector256.ConditionalSelect(take, sl22, suml2);
                changed |= take;
            }
            if (changed == zero)
                break;
        }
        Vector256<int> offset = Vector256.Create(nmax);
        Vector256<int> clear = empty.AsInt32();
        for (int i = 0; i < n; i++)
            l[i] = Vector256.ConditionalSelect(clear, Vector256<int>.Zero, l[i] + offset);
        Vector256<float> scale = Vector256.ConditionalSelect(Vector256.GreaterThan(suml2, zero), sumlx / suml2, zero);
        return Vector256.ConditionalSelect(empty, zero, scale);
    }

    /// <summary>
    /// The requantization step of the k-quants, 16 elements at a time: <c>l[i] = clamp(nearest_int((x[i] + add) / d), lo,
    /// hi) + offset</c>. Element-wise, so each lane is the scalar computation (Q3_K/Q6_K pass <c>add = 0</c>: <c>x + 0</c>
    /// equals <c>x</c> except that −0 becomes +0, which <c>nearest_int</c> maps to the same integer). The results lie in
    /// 0..255 and are stored as bytes. Length: a multiple of 16.
    /// </summary>
    public static void Requantize(ReadOnlySpan<float> x, float add, float d, int lo, int hi, int offset, Span<byte> l)
    {
        Vector256<float> vadd = Vector256.Create(add), vd = Vector256.Create(d);
        Vector256<int> vlo = Vector256.Create(lo), vhi = Vector256.Create(hi), voff = Vector256.Create(offset);
        ref float xs = ref MemoryMarshal.GetReference(x);
        for (int i = 0; i + 16 <= x.Length; i += 16)
        {
            Vector256<float> v0 = Vector256.LoadUnsafe(ref xs, (nuint)i), v1 = Vector256.LoadUnsafe(ref xs, (nuint)(i + 8));
            Vector256<int> q0 = Vector256.Max(vlo, Vector256.Min(vhi, NearestInt((v0 + vadd) / vd))) + voff;
            Vector256<int> q1 = Vector256.Max(vlo, Vector256.Min(vhi, NearestInt((v1 + vadd) / vd))) + voff;
            Vector256<ushort> s = Vector256.Narrow(q0.AsUInt32(), q1.AsUInt32());
            Vector128.Narrow(s.GetLower(), s.GetUpper()).CopyTo(l.Slice(i, 16));
        }
    }
}
