using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
    /// from FLT_MAX / −FLT_MAX over the 32 values <paramref name="x"/> (also given as four vectors). The values are
    /// order-independent; only the sign of a zero extremum depends on the scan (it keeps the first zero it meets), so a
    /// zero result is replaced by the first zero in the block.
    /// </summary>
    public static void MinMax(Vector256<float> v0, Vector256<float> v1, Vector256<float> v2, Vector256<float> v3, ReadOnlySpan<float> x,
        out float min, out float max)
    {
        Vector256<float> lo = Vector256.Min(Vector256.Min(Vector256.Min(v0, v1), Vector256.Min(v2, v3)), Vector256.Create(float.MaxValue));
        Vector256<float> hi = Vector256.Max(Vector256.Max(Vector256.Max(v0, v1), Vector256.Max(v2, v3)), Vector256.Create(-float.MaxValue));
        Vector128<float> lo4 = Vector128.Min(lo.GetLower(), lo.GetUpper());
        Vector128<float> hi4 = Vector128.Max(hi.GetLower(), hi.GetUpper());
        min = MathF.Min(MathF.Min(lo4[0], lo4[1]), MathF.Min(lo4[2], lo4[3]));
        max = MathF.Max(MathF.Max(hi4[0], hi4[1]), MathF.Max(hi4[2], hi4[3]));
        if (min == 0f) min = FirstZero(x);
        if (max == 0f) max = FirstZero(x);
    }

    /// <summary>
    /// The signed value of the first element of largest magnitude (ggml's <c>if (amax &lt; fabsf(v)) { amax = fabsf(v);
    /// max = v; }</c> from 0) of the 32 values <paramref name="x"/> (also given as four vectors): a vector abs-max, then
    /// one short scan for the first element reaching it.
    /// </summary>
    public static float SignedAbsMax(Vector256<float> v0, Vector256<float> v1, Vector256<float> v2, Vector256<float> v3, ReadOnlySpan<float> x)
    {
        Vector256<float> m = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
        Vector128<float> m4 = Vector128.Max(m.GetLower(), m.GetUpper());
        float amax = MathF.Max(MathF.Max(m4[0], m4[1]), MathF.Max(m4[2], m4[3]));
        if (!(amax > 0f))
            return 0f;
        for (int j = 0; j < x.Length; j++)
        {
            if (MathF.Abs(x[j]) == amax)
                return x[j];
        }
        return 0f;
    }

    /// <summary>
    /// Packs 32 codes (elements 0..31 in four vectors, each 0..255) as ggml's blocks of 32 do: byte j holds the low nibble
    /// of element j and, in its high nibble, the low nibble of element j+16 (<paramref name="lowNibbles"/>: codes are
    /// masked to 4 bits first, as Q5_0/Q5_1 do; otherwise the whole code is OR-ed, as Q4_0/Q4_1 do).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> PackNibbles(Vector256<int> q0, Vector256<int> q1, Vector256<int> q2, Vector256<int> q3, bool lowNibbles)
    {
        Vector256<int> mask = Vector256.Create(lowNibbles ? 0x0F : 0xFF), low = Vector256.Create(0xFF);
        Vector256<int> p0 = ((q0 & mask) | Vector256.ShiftLeft(q2 & mask, 4)) & low;
        Vector256<int> p1 = ((q1 & mask) | Vector256.ShiftLeft(q3 & mask, 4)) & low;
        Vector256<ushort> s = Vector256.Narrow(p0.AsUInt32(), p1.AsUInt32());
        return Vector128.Narrow(s.GetLower(), s.GetUpper());
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
        Span<float> lanes = MemoryMarshal.Cast<Vector256<float>, float>(dst[..groupLength]);
        if (groups < 8)
            lanes.Clear();
        for (int g = 0; g < groups; g++)
        {
            ReadOnlySpan<float> group = src.Slice(g * groupLength, groupLength);
            for (int k = 0; k < group.Length; k++) lanes[8 * k + g] = group[k];
        }
    }

    /// <summary>The inverse of <see cref="Transpose"/> for integer codes, keeping the first <paramref name="groups"/> lanes as bytes.</summary>
    public static void Untranspose(ReadOnlySpan<Vector256<int>> src, int groupLength, int groups, Span<byte> dst)
    {
        ReadOnlySpan<int> lanes = MemoryMarshal.Cast<Vector256<int>, int>(src[..groupLength]);
        for (int g = 0; g < groups; g++)
        {
            Span<byte> group = dst.Slice(g * groupLength, groupLength);
            for (int k = 0; k < group.Length; k++) group[k] = (byte)lanes[8 * k + g];
        }
    }

    /// <summary>The inverse of <see cref="Transpose"/> for codes held as floats (exact small integers).</summary>
    public static void Untranspose(ReadOnlySpan<Vector256<float>> src, int groupLength, int groups, Span<byte> dst)
    {
        ReadOnlySpan<float> lanes = MemoryMarshal.Cast<Vector256<float>, float>(src[..groupLength]);
        for (int g = 0; g < groups; g++)
        {
            Span<byte> group = dst.Slice(g * groupLength, groupLength);
            for (int k = 0; k < group.Length; k++) group[k] = (byte)lanes[8 * k + g];
        }
    }
}
