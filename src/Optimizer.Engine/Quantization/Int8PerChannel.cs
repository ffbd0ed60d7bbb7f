using System.Numerics;
using System.Runtime.InteropServices;
using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// Symmetric int8 quantization with one scale per output channel (per row of a row-major [out, in] matrix):
/// <c>scale = max|row| / 127</c>, rounded to the scale type (F16 or F32), and <c>code = round(x / scale)</c>
/// (round half to even) clamped to [−127, 127]; dequantized <c>x̂ = code · scale</c>. A row of zeros (or one whose
/// scale underflows the scale type) gets scale 0 and codes 0. Rows are processed in parallel; every row depends only on
/// its own values, so results are identical for any thread count. Also hosts the scale and rounding rules that
/// <see cref="Int4Grouped"/> shares (int8 per channel is the one-group-per-row case of the same scheme).
/// </summary>
public static class Int8PerChannel
{
    /// <summary>The largest code magnitude written (codes lie in [−127, 127]).</summary>
    public const int MaxCode = 127;

    /// <summary>Below this many elements a matrix is processed on the calling thread.</summary>
    private const long ParallelThreshold = 1 << 15;

    /// <summary>Per-row scales of the <paramref name="rows"/> × <paramref name="cols"/> matrix <paramref name="values"/>.</summary>
    public static void ComputeScales(ReadOnlySpan<float> values, long rows, long cols, DType scaleType, Span<float> scales)
    {
        CheckShape(values.Length, rows, cols);
        CheckScaleType(scaleType);
        CheckLength(scales.Length, rows, "scales");
        unsafe
        {
            fixed (float* v = values)
            fixed (float* s = scales)
            {
                nint pv = (nint)v, ps = (nint)s;
                int c = (int)cols;
                ForEachRow((int)rows, cols, r => GroupScale(new ReadOnlySpan<float>((float*)pv + (long)r * c, c), MaxCode, scaleType, out ((float*)ps)[r]));
            }
        }
    }

    /// <summary>
    /// Quantizes the matrix into <paramref name="codes"/> (rows × cols) and <paramref name="scales"/> (rows). Throws
    /// <see cref="OptimizerException"/> <see cref="ErrorCodes.IntQuantNonFinite"/> for NaN/infinite values and
    /// <see cref="ErrorCodes.IntQuantScaleOverflow"/> when a scale exceeds F16.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> values, long rows, long cols, DType scaleType, Span<sbyte> codes, Span<float> scales)
    {
        CheckShape(values.Length, rows, cols);
        CheckScaleType(scaleType);
        CheckLength(codes.Length, rows * cols, "codes");
        CheckLength(scales.Length, rows, "scales");
        unsafe
        {
            fixed (float* v = values)
            fixed (sbyte* q = codes)
            fixed (float* s = scales)
            {
                nint pv = (nint)v, pq = (nint)q, ps = (nint)s;
                int c = (int)cols;
                ForEachRow((int)rows, cols, r =>
                {
                    var row = new ReadOnlySpan<float>((float*)pv + (long)r * c, c);
                    var status = GroupScale(row, MaxCode, scaleType, out float scale);
                    ((float*)ps)[r] = scale;
                    if (status != RowStatus.Ok) return status;
                    var target = new Span<sbyte>((sbyte*)pq + (long)r * c, c);
                    for (int i = 0; i < row.Length; i++) target[i] = (sbyte)Code(row[i], scale, MaxCode);
                    return RowStatus.Ok;
                });
            }
        }
    }

    /// <summary>Dequantizes <paramref name="codes"/> (rows × cols) with per-row <paramref name="scales"/>.</summary>
    public static void Dequantize(ReadOnlySpan<sbyte> codes, ReadOnlySpan<float> scales, long rows, long cols, Span<float> values)
    {
        CheckShape(values.Length, rows, cols);
        CheckLength(codes.Length, rows * cols, "codes");
        CheckLength(scales.Length, rows, "scales");
        int c = (int)cols;
        for (int r = 0; r < rows; r++)
        {
            float scale = scales[r];
            var source = codes.Slice(r * c, c);
            var target = values.Slice(r * c, c);
            for (int i = 0; i < c; i++) target[i] = source[i] * scale;
        }
    }

    /// <summary>The outcome of quantizing one row; anything but <see cref="Ok"/> stops the matrix with an error.</summary>
    internal enum RowStatus
    {
        Ok,
        NonFinite,
        ScaleOverflow,
    }

    /// <summary>
    /// The scale of one group: max|x| / <paramref name="maxCode"/>, rounded to <paramref name="scaleType"/>. Zero when the
    /// group is all zeros or the scale underflows the type (every code is then 0).
    /// </summary>
    internal static RowStatus GroupScale(ReadOnlySpan<float> group, int maxCode, DType scaleType, out float scale)
    {
        float max = 0f;
        float poison = 0f; // x * 0 is NaN exactly when x is NaN or infinite
        int i = 0;
        if (Vector.IsHardwareAccelerated && group.Length >= Vector<float>.Count)
        {
            var vmax = Vector<float>.Zero;
            var vpoison = Vector<float>.Zero;
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(group);
            foreach (var v in vectors)
            {
                vmax = Vector.Max(vmax, Vector.Abs(v));
                vpoison += v * Vector<float>.Zero;
            }
            for (int k = 0; k < Vector<float>.Count; k++)
            {
                max = MathF.Max(max, vmax[k]);
                poison += vpoison[k];
            }
            i = vectors.Length * Vector<float>.Count;
        }
        for (; i < group.Length; i++)
        {
            max = MathF.Max(max, MathF.Abs(group[i]));
            poison += group[i] * 0f;
        }
        if (!float.IsFinite(poison) || !float.IsFinite(max))
        {
            scale = 0f;
            return RowStatus.NonFinite;
        }
        float exact = max / maxCode;
        scale = scaleType == DType.F16 ? (float)(Half)exact : exact;
        return float.IsFinite(scale) ? RowStatus.Ok : RowStatus.ScaleOverflow;
    }

    /// <summary>round(x / scale), ties to even, clamped to [−maxCode, maxCode]; 0 when the scale is 0.</summary>
    internal static int Code(float x, float scale, int maxCode)
    {
        if (scale == 0f) return 0;
        float q = MathF.Round(x / scale, MidpointRounding.ToEven);
        return (int)Math.Clamp(q, -maxCode, maxCode);
    }

    /// <summary>
    /// Runs <paramref name="body"/> for every row (in parallel for large matrices) and throws for the first failing row
    /// in row order, so that the error is the same for any thread count.
    /// </summary>
    internal static void ForEachRow(int rows, long cols, Func<int, RowStatus> body)
    {
        int failedRow = int.MaxValue;
        RowStatus failure = RowStatus.Ok;
        object gate = new();
        void Run(int r)
        {
            var status = body(r);
            if (status == RowStatus.Ok) return;
            lock (gate)
            {
                if (r < failedRow)
                {
                    failedRow = r;
                    failure = status;
                }
            }
        }

        if ((long)rows * cols < ParallelThreshold || Environment.ProcessorCount == 1)
        {
            for (int r = 0; r < rows && failedRow == int.MaxValue; r++) Run(r);
        }
        else
        {
            Parallel.For(0, rows, Run);
        }
        if (failure == RowStatus.NonFinite)
            throw new OptimizerException(ErrorCodes.IntQuantNonFinite, $"Row {failedRow} holds NaN or an infinity, which cannot be quantized.");
        if (failure == RowStatus.ScaleOverflow)
            throw new OptimizerException(ErrorCodes.IntQuantScaleOverflow,
                $"Row {failedRow} holds values too large for an F16 scale (max |x| / code range exceeds 65504); the int8/int4 safetensors layout stores F16 scales (the engine API's HfExportOptions.ScaleDType = F32 writes F32 scales), or write this model as GGUF or F16/BF16/F32.");
    }

    internal static void CheckShape(int length, long rows, long cols)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        if (rows > int.MaxValue || cols > int.MaxValue || rows * cols != length)
            throw new ArgumentException($"A {rows} × {cols} matrix needs {rows * cols} values, not {length}.");
    }

    internal static void CheckScaleType(DType scaleType)
    {
        if (scaleType is not (DType.F16 or DType.F32))
            throw new ArgumentOutOfRangeException(nameof(scaleType), scaleType, "Scales are stored as F16 or F32.");
    }

    internal static void CheckLength(int length, long expected, string what)
    {
        if (length != expected) throw new ArgumentException($"The {what} span holds {length} elements; {expected} are needed.", what);
    }
}
