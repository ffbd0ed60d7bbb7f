using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// Symmetric int4 quantization in groups along the input dimension (the contiguous one of a row-major [out, in]
/// matrix): each row is cut into groups of <c>groupSize</c> columns (the last group is shorter when the width is not a
/// multiple), each group gets <c>scale = max|group| / 7</c> rounded to the scale type (F16 or F32), and
/// <c>code = round(x / scale)</c> (round half to even) clamped to [−7, 7]. Codes are stored as unsigned nibbles
/// <c>code + 8</c>, two per byte, the even column in the low nibble: byte <c>j</c> of a row holds columns 2j (bits 0-3)
/// and 2j+1 (bits 4-7), so a row of <c>in</c> columns takes <c>in / 2</c> bytes (the width must be even). Nibble 0
/// (code −8) is never written but dequantizes as −8 · scale. Rows run in parallel and results do not depend on the
/// thread count.
/// </summary>
public static class Int4Grouped
{
    /// <summary>The largest code magnitude written (codes lie in [−7, 7]).</summary>
    public const int MaxCode = 7;

    /// <summary>The offset that turns a code into its stored nibble.</summary>
    public const int NibbleOffset = 8;

    /// <summary>Scale groups per row: ⌈<paramref name="cols"/> / <paramref name="groupSize"/>⌉.</summary>
    public static long GroupCount(long cols, int groupSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(groupSize);
        return (cols + groupSize - 1) / groupSize;
    }

    /// <summary>
    /// Per-group scales ([rows, GroupCount] row-major) of the <paramref name="rows"/> × <paramref name="cols"/> matrix.
    /// </summary>
    public static void ComputeScales(ReadOnlySpan<float> values, long rows, long cols, int groupSize, DType scaleType, Span<float> scales)
    {
        Check(values.Length, rows, cols, groupSize, scaleType);
        long groups = GroupCount(cols, groupSize);
        Int8PerChannel.CheckLength(scales.Length, rows * groups, "scales");
        unsafe
        {
            fixed (float* v = values)
            fixed (float* s = scales)
            {
                nint pv = (nint)v, ps = (nint)s;
                int c = (int)cols, g = (int)groups;
                Int8PerChannel.ForEachRow((int)rows, cols, r =>
                {
                    var row = new ReadOnlySpan<float>((float*)pv + (long)r * c, c);
                    var rowScales = new Span<float>((float*)ps + (long)r * g, g);
                    for (int k = 0; k < g; k++)
                    {
                        int start = k * groupSize;
                        var status = Int8PerChannel.GroupScale(row.Slice(start, Math.Min(groupSize, c - start)), MaxCode, scaleType, out rowScales[k]);
                        if (status != Int8PerChannel.RowStatus.Ok) return status;
                    }
                    return Int8PerChannel.RowStatus.Ok;
                });
            }
        }
    }

    /// <summary>
    /// Quantizes the matrix into <paramref name="packed"/> (rows × cols/2 bytes) and <paramref name="scales"/>
    /// ([rows, GroupCount]). Throws <see cref="OptimizerException"/> <see cref="ErrorCodes.IntQuantShapeUnsupported"/>
    /// for an odd width, <see cref="ErrorCodes.IntQuantNonFinite"/> for NaN/infinite values and
    /// <see cref="ErrorCodes.IntQuantScaleOverflow"/> when a scale exceeds F16.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> values, long rows, long cols, int groupSize, DType scaleType, Span<byte> packed, Span<float> scales)
    {
        Check(values.Length, rows, cols, groupSize, scaleType);
        long groups = GroupCount(cols, groupSize);
        Int8PerChannel.CheckLength(packed.Length, rows * cols / 2, "packed");
        Int8PerChannel.CheckLength(scales.Length, rows * groups, "scales");
        unsafe
        {
            fixed (float* v = values)
            fixed (byte* q = packed)
            fixed (float* s = scales)
            {
                nint pv = (nint)v, pq = (nint)q, ps = (nint)s;
                int c = (int)cols, g = (int)groups;
                Int8PerChannel.ForEachRow((int)rows, cols, r =>
                {
                    var row = new ReadOnlySpan<float>((float*)pv + (long)r * c, c);
                    var rowScales = new Span<float>((float*)ps + (long)r * g, g);
                    var target = new Span<byte>((byte*)pq + (long)r * (c / 2), c / 2);
                    for (int k = 0; k < g; k++)
                    {
                        int start = k * groupSize;
                        var status = Int8PerChannel.GroupScale(row.Slice(start, Math.Min(groupSize, c - start)), MaxCode, scaleType, out rowScales[k]);
                        if (status != Int8PerChannel.RowStatus.Ok) return status;
                    }
                    for (int j = 0; j < target.Length; j++)
                    {
                        int even = 2 * j, odd = even + 1;
                        int low = Int8PerChannel.Code(row[even], rowScales[even / groupSize], MaxCode) + NibbleOffset;
                        int high = Int8PerChannel.Code(row[odd], rowScales[odd / groupSize], MaxCode) + NibbleOffset;
                        target[j] = (byte)(low | (high << 4));
                    }
                    return Int8PerChannel.RowStatus.Ok;
                });
            }
        }
    }

    /// <summary>Dequantizes <paramref name="packed"/> (rows × cols/2 bytes) with group <paramref name="scales"/>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> packed, ReadOnlySpan<float> scales, long rows, long cols, int groupSize, Span<float> values)
    {
        Int8PerChannel.CheckShape(values.Length, rows, cols);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(groupSize);
        if (cols % 2 != 0) throw new ArgumentException($"Packed int4 rows have an even width; {cols} is odd.", nameof(cols));
        long groups = GroupCount(cols, groupSize);
        Int8PerChannel.CheckLength(packed.Length, rows * cols / 2, "packed");
        Int8PerChannel.CheckLength(scales.Length, rows * groups, "scales");
        int c = (int)cols, g = (int)groups;
        for (int r = 0; r < rows; r++)
        {
            var source = packed.Slice(r * (c / 2), c / 2);
            var rowScales = scales.Slice(r * g, g);
            var target = values.Slice(r * c, c);
            for (int j = 0; j < source.Length; j++)
            {
                int even = 2 * j, odd = even + 1;
                target[even] = ((source[j] & 0x0F) - NibbleOffset) * rowScales[even / groupSize];
                target[odd] = ((source[j] >> 4) - NibbleOffset) * rowScales[odd / groupSize];
            }
        }
    }

    private static void Check(int length, long rows, long cols, int groupSize, DType scaleType)
    {
        Int8PerChannel.CheckShape(length, rows, cols);
        Int8PerChannel.CheckScaleType(scaleType);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(groupSize);
        if (cols % 2 != 0)
            throw new OptimizerException(ErrorCodes.IntQuantShapeUnsupported,
                $"int4 packs two columns per byte, so the input dimension must be even; it is {cols}.");
    }
}
