using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// Vector256 pieces shared by the blocks-of-32 kernels (Q4_1, Q5_0, Q5_1 and the imatrix fits of Q4_0/Q4_1/Q5_0/Q5_1):
/// the reductions the reference scans perform, with the scan's choice among equal values restored where it shows in
/// the bytes, C's x86 float-to-int truncation per lane, and the transposition of up to 8 groups into lanes.
/// </summary>
internal static class BlockQuantLanes
{
    /// <summary>
    /// The <c>min</c> and <c>max</c> of ggml's <c>for (j) { if (v &lt; min) min = v; if (v &gt; max) max = v; }</c> starting
    /// from FLT_MAX / −FLT_MAX over 32 values. The values are order-independent; only the sign of a zero extremum depends
    /// on the scan (it keeps the first zero it meets), so a zero result is replaced by the first zero in the block.
    /// </summary>
    public static void MinMax(ReadOnlySpan<float> x, out float min, out float max)
    {
        Vector256<float> v0 = Vector256.Create(x[..8]), v1 = Vector256.Create(x.Slice(8, 8));
        Vector256<float> v2 = Vector256.Create(x.Slice(16, 8)), v3 = Vector256.Create(x.Slice(24, 8));
        Vector256<float> lo = Vector256.Min(Vector256.Min(Vector256.Min(v0, v1), Vector256.Min(v2, v3)), Vector256.Create(float.MaxValue));
        Vector256<float> hi = Vector256.Max(Vector256.Max(Vector256.Max(v0, v1), Vector256.Max(v2, v3)), Vector256.Create(-float.MaxValue));
        min = lo[0];
        max = hi[0];
        for (int i = 1; i < 8; i++)
        {
            if (lo[i] < min) min = lo[i];
            if (hi[i] > max) max = hi[i];
        }
        if (min == 0f) min = FirstZero(x);
        if (max == 0f) max = FirstZero(x);
    }

    /// <summary>
    /// The signed value of the first element of largest magnitude (ggml's <c>if (amax &lt; fabsf(v)) { amax = fabsf(v);
    /// max = v; }</c> from 0), found with a vector abs-max and one short scan.
    /// </summary>
    public static float SignedAbsMax(ReadOnlySpan<float> x)
    {
        Vector256<float> m = Vector256.Max(
            Vector256.Max(Vector256.Abs(Vector256.Create(x[..8])), Vector256.Abs(Vector256.Create(x.Slice(8, 8)))),
            Vector256.Max(Vector256.Abs(Vector256.Create(x.Slice(16, 8))), Vector256.Abs(Vector256.Create(x.Slice(24, 8)))));
        float amax = 0f;
        for (int i = 0; i < 8; i++)
            amax = MathF.Max(amax, m[i]);
        if (!(amax > 0f))
            return 0f;
        for (int j = 0; j < x.Length; j++)
        {
            if (MathF.Abs(x[j]) == amax)
                return x[j];
        }
        return 0f;
    }

    private static float FirstZero(ReadOnlySpan<float> x)
    {
        foreach (float v in x)
        {
            if (v == 0f)
                return v;
        }
        return 0f;
    }

    /// <summary><see cref="KQuantMath.Truncate"/> per lane: truncation, NaN and out-of-range lanes 0x80000000.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Truncate(Vector256<float> v)
    {
        Vector256<float> inRange = Vector256.GreaterThanOrEqual(v, Vector256.Create(-2147483648f)) & Vector256.LessThan(v, Vector256.Create(2147483648f));
        return Vector256.ConditionalSelect(inRange.AsInt32(), Vector256.ConvertToInt32(v), Vector256.Create(int.MinValue));
    }

    /// <summary>C's <c>(int8_t)</c> narrowing of an int per lane (the low byte, sign-extended).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> ToSByte(Vector256<int> v) => Vector256.ShiftRightArithmetic(Vector256.ShiftLeft(v, 24), 24);

    /// <summary>Bit 4 of each of 32 codes (elements 0..31 in four vectors) as one 32-bit mask, element k in bit k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint FifthBits(Vector256<int> q0, Vector256<int> q1, Vector256<int> q2, Vector256<int> q3) =>
        Vector256.ShiftLeft(q0, 27).ExtractMostSignificantBits()
        | (Vector256.ShiftLeft(q1, 27).ExtractMostSignificantBits() << 8)
        | (Vector256.ShiftLeft(q2, 27).ExtractMostSignificantBits() << 16)
        | (Vector256.ShiftLeft(q3, 27).ExtractMostSignificantBits() << 24);

    /// <summary>
    /// Transposes <paramref name="groups"/> (≤ 8) consecutive groups of <paramref name="groupLength"/> values into lanes:
    /// <c>dst[k]</c> lane g = <c>src[g·groupLength + k]</c>; lanes past <paramref name="groups"/> are 0.
    /// </summary>
    public static void Transpose(ReadOnlySpan<float> src, int groupLength, int groups, Span<Vector256<float>> dst)
    {
        Span<float> lane = stackalloc float[8];
        lane.Clear();
        for (int k = 0; k < groupLength; k++)
        {
            for (int g = 0; g < groups; g++) lane[g] = src[g * groupLength + k];
            dst[k] = Vector256.Create<float>(lane);
        }
    }

    /// <summary>The inverse of <see cref="Transpose"/> for integer codes, keeping the first <paramref name="groups"/> lanes as bytes.</summary>
    public static void Untranspose(ReadOnlySpan<Vector256<int>> src, int groupLength, int groups, Span<byte> dst)
    {
        for (int k = 0; k < groupLength; k++)
        {
            Vector256<int> v = src[k];
            for (int g = 0; g < groups; g++) dst[g * groupLength + k] = (byte)v[g];
        }
    }

    /// <summary>The inverse of <see cref="Transpose"/> for codes held as floats (exact small integers).</summary>
    public static void Untranspose(ReadOnlySpan<Vector256<float>> src, int groupLength, int groups, Span<byte> dst)
    {
        for (int k = 0; k < groupLength; k++)
        {
            Vector256<float> v = src[k];
            for (int g = 0; g < groups; g++) dst[g * groupLength + k] = (byte)v[g];
        }
    }
}
