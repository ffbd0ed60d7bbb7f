using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// Vector256 pieces shared by the blocks-of-32 kernels: C's x86 float-to-int truncation and int8 narrowing per lane.
/// </summary>
internal static class BlockQuantLanes
{
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
}
