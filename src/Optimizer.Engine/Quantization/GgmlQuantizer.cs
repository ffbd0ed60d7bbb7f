using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// ggml tensor encodings in pure C#: quantization bit-identical to ggml's <c>ggml_quantize_chunk</c> — without an
/// importance matrix its reference quantizers (<c>quantize_row_*_ref</c>, what <c>llama-quantize</c> writes without
/// <c>--imatrix</c>), with one the importance-weighted <c>quantize_row_*_impl</c> fits (Q8_0, F16, BF16 ignore it, as
/// ggml does) — and the matching dequantizers; F32/F16/BF16 are plain conversions with ggml's rounding.
/// </summary>
public static class GgmlQuantizer
{
    /// <summary>Below this many elements a matrix is quantized on the calling thread.</summary>
    private const long ParallelThreshold = 1 << 16;

    /// <summary>
    /// Encodes <paramref name="src"/> (a whole number of blocks of <paramref name="type"/>) into <paramref name="dst"/>,
    /// which must be exactly <see cref="GgmlTypes.ByteCount"/> bytes. Deterministic; thread-safe.
    /// </summary>
    public static void Quantize(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        CheckSizes(type, src.Length, dst.Length);
        switch (type)
        {
            case GgmlType.F32:
                if (BitConverter.IsLittleEndian)
                    MemoryMarshal.AsBytes(src).CopyTo(dst);
                else
                    for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(dst[(4 * i)..], src[i]);
                break;
            case GgmlType.F16:
            {
                Span<ushort> halves = MemoryMarshal.Cast<byte, ushort>(dst);
                for (int i = 0; i < src.Length; i++) halves[i] = LittleEndian(HalfPrecision.ToFp16(src[i]));
                break;
            }
            case GgmlType.BF16:
            {
                Span<ushort> halves = MemoryMarshal.Cast<byte, ushort>(dst);
                for (int i = 0; i < src.Length; i++) halves[i] = LittleEndian(HalfPrecision.ToBf16(src[i]));
                break;
            }
            case GgmlType.Q8_0:
                Q8_0Kernel.Quantize(src, dst);
                break;
            case GgmlType.Q4_0:
                Q4_0Kernel.Quantize(src, dst);
                break;
            case GgmlType.Q4_1:
                Q4_1Kernel.Quantize(src, dst);
                break;
            case GgmlType.Q5_0:
                Q5_0Kernel.Quantize(src, dst);
                break;
            case GgmlType.Q5_1:
                Q5_1Kernel.Quantize(src, dst);
                break;
            case GgmlType.Q2_K:
                Q2_KKernel.Quantize(src, dst);
                break;
            case GgmlType.Q3_K:
                Q3_KKernel.Quantize(src, dst);
                break;
            case GgmlType.Q4_K:
                Q4_KKernel.Quantize(src, dst);
                break;
            case GgmlType.Q5_K:
                Q5_KKernel.Quantize(src, dst);
                break;
            case GgmlType.Q6_K:
                Q6_KKernel.Quantize(src, dst);
                break;
            default:
                throw Unsupported(type);
        }
    }

    /// <summary>
    /// Encodes with an importance matrix (<c>ggml_quantize_chunk</c>'s <c>quant_weights</c>): <paramref name="importance"/>
    /// holds one non-negative value per column and applies to every row; <paramref name="src"/> is one row or several
    /// whole rows of <paramref name="importance"/>.Length values (a whole number of blocks). An empty
    /// <paramref name="importance"/> is the plain <see cref="Quantize(GgmlType, ReadOnlySpan{float}, Span{byte})"/>; types
    /// without an importance-weighted quantizer in ggml (Q8_0, F32, F16, BF16) ignore it.
    /// </summary>
    public static void Quantize(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance)
    {
        if (importance.IsEmpty)
        {
            Quantize(type, src, dst);
            return;
        }
        CheckSizes(type, src.Length, dst.Length);
        CheckImportance(type, src.Length, importance.Length);
        switch (type)
        {
            case GgmlType.Q4_0:
                Q4_0Kernel.QuantizeWeighted(src, dst, importance);
                break;
            case GgmlType.Q4_1:
                Q4_1Kernel.QuantizeWeighted(src, dst, importance);
                break;
            case GgmlType.Q5_0:
                Q5_0Kernel.QuantizeWeighted(src, dst, importance);
                break;
            case GgmlType.Q5_1:
                Q5_1Kernel.QuantizeWeighted(src, dst, importance);
                break;
            case GgmlType.Q2_K:
                Q2_KKernel.QuantizeWeighted(src, dst, importance);
                break;
            case GgmlType.Q3_K:
                Q3_KKernel.QuantizeWeighted(src, dst, importance);
                break;
            case GgmlType.Q4_K:
                Q4_KKernel.QuantizeWeighted(src, dst, importance);
                break;
            case GgmlType.Q5_K:
                Q5_KKernel.QuantizeWeighted(src, dst, importance);
                break;
            case GgmlType.Q6_K:
                Q6_KKernel.QuantizeWeighted(src, dst, importance);
                break;
            default:
                Quantize(type, src, dst);
                break;
        }
    }

    /// <summary>
    /// Decodes <paramref name="src"/> (exactly <see cref="GgmlTypes.ByteCount"/> bytes for <paramref name="dst"/>'s
    /// length) into floats, as ggml's <c>dequantize_row_*</c> / <c>to_float</c> do.
    /// </summary>
    public static void Dequantize(GgmlType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        CheckSizes(type, dst.Length, src.Length);
        switch (type)
        {
            case GgmlType.F32:
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..]);
                break;
            case GgmlType.F16:
            {
                ReadOnlySpan<ushort> halves = MemoryMarshal.Cast<byte, ushort>(src);
                for (int i = 0; i < dst.Length; i++) dst[i] = HalfPrecision.FromFp16(LittleEndian(halves[i]));
                break;
            }
            case GgmlType.BF16:
            {
                ReadOnlySpan<ushort> halves = MemoryMarshal.Cast<byte, ushort>(src);
                for (int i = 0; i < dst.Length; i++) dst[i] = HalfPrecision.FromBf16(LittleEndian(halves[i]));
                break;
            }
            case GgmlType.Q8_0:
                Q8_0Kernel.Dequantize(src, dst);
                break;
            case GgmlType.Q4_0:
                Q4_0Kernel.Dequantize(src, dst);
                break;
            case GgmlType.Q4_1:
                Q4_1Kernel.Dequantize(src, dst);
                break;
            case GgmlType.Q5_0:
                Q5_0Kernel.Dequantize(src, dst);
                break;
            case GgmlType.Q5_1:
                Q5_1Kernel.Dequantize(src, dst);
                break;
            case GgmlType.Q2_K:
                Q2_KKernel.Dequantize(src, dst);
                break;
            case GgmlType.Q3_K:
                Q3_KKernel.Dequantize(src, dst);
                break;
            case GgmlType.Q4_K:
                Q4_KKernel.Dequantize(src, dst);
                break;
            case GgmlType.Q5_K:
                Q5_KKernel.Dequantize(src, dst);
                break;
            case GgmlType.Q6_K:
                Q6_KKernel.Dequantize(src, dst);
                break;
            default:
                throw Unsupported(type);
        }
    }

    /// <summary>Bytes one row of <paramref name="cols"/> values takes in <paramref name="type"/> (OOPT1101 if not whole blocks).</summary>
    public static long RowBytes(GgmlType type, long cols)
    {
        int block = GgmlTypes.BlockSize(type);
        if (cols <= 0 || cols % block != 0)
            throw new OptimizerException(ErrorCodes.QuantizationShapeInvalid,
                $"{GgmlTypes.Name(type)} stores rows in blocks of {block} values; a row of {cols} values does not fit.");
        return cols / block * GgmlTypes.BlockBytes(type);
    }

    /// <summary>
    /// Quantizes a row-major <paramref name="rows"/> × <paramref name="cols"/> matrix (ggml rows along the contiguous
    /// dimension) on all cores. The bytes equal those of a serial <see cref="Quantize"/> of the whole matrix.
    /// </summary>
    public static byte[] QuantizeMatrix(GgmlType type, ReadOnlySpan<float> src, long rows, long cols)
    {
        long bytes = checked(rows * RowBytes(type, cols));
        if (bytes > Array.MaxLength)
            throw new OptimizerException(ErrorCodes.QuantizationShapeInvalid,
                $"A {rows} x {cols} {GgmlTypes.Name(type)} matrix takes {bytes} bytes, more than one array holds.");
        var dst = new byte[bytes];
        QuantizeMatrix(type, src, rows, cols, dst);
        return dst;
    }

    /// <summary>
    /// Quantizes a row-major matrix with an importance matrix (<paramref name="importance"/>: empty, or one value per
    /// column applied to every row) on all cores; the bytes equal those of a serial
    /// <see cref="Quantize(GgmlType, ReadOnlySpan{float}, Span{byte}, ReadOnlySpan{float})"/> of the whole matrix, i.e. of
    /// <c>ggml_quantize_chunk</c> with the same <c>quant_weights</c>.
    /// </summary>
    public static byte[] QuantizeMatrix(GgmlType type, ReadOnlySpan<float> src, long rows, long cols, ReadOnlySpan<float> importance)
    {
        long bytes = checked(rows * RowBytes(type, cols));
        if (bytes > Array.MaxLength)
            throw new OptimizerException(ErrorCodes.QuantizationShapeInvalid,
                $"A {rows} x {cols} {GgmlTypes.Name(type)} matrix takes {bytes} bytes, more than one array holds.");
        var dst = new byte[bytes];
        QuantizeMatrix(type, src, rows, cols, importance, dst);
        return dst;
    }

    /// <summary>Whether ggml's quantizer of <paramref name="type"/> ignores an importance matrix (<c>(void)quant_weights</c>, or no quantization at all).</summary>
    public static bool IgnoresImportance(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.Q8_0;

    /// <summary>
    /// Quantizes a row-major matrix into <paramref name="dst"/> (exactly rows × <see cref="RowBytes"/> bytes), in parallel
    /// over chunks of rows with up to <paramref name="maxDegreeOfParallelism"/> threads (−1: all cores, 1: serial).
    /// </summary>
    public static void QuantizeMatrix(GgmlType type, ReadOnlySpan<float> src, long rows, long cols, Span<byte> dst,
        int maxDegreeOfParallelism = -1) =>
        QuantizeMatrix(type, src, rows, cols, default, dst, maxDegreeOfParallelism);

    /// <summary>
    /// Quantizes a row-major matrix with an importance matrix (empty, or one value per column) into
    /// <paramref name="dst"/> (exactly rows × <see cref="RowBytes"/> bytes), in parallel over chunks of rows with up to
    /// <paramref name="maxDegreeOfParallelism"/> threads (−1: all cores, 1: serial).
    /// </summary>
    public static unsafe void QuantizeMatrix(GgmlType type, ReadOnlySpan<float> src, long rows, long cols, ReadOnlySpan<float> importance,
        Span<byte> dst, int maxDegreeOfParallelism = -1)
    {
        long rowBytes = CheckMatrix(type, src.Length, dst.Length, rows, cols);
        if (!importance.IsEmpty && importance.Length != cols)
            throw new OptimizerException(ErrorCodes.QuantizationShapeInvalid,
                $"An importance matrix has one value per column: {importance.Length} values for {cols} columns.");
        if (rows == 0)
            return;
        int threads = maxDegreeOfParallelism < 0 ? Environment.ProcessorCount : Math.Max(1, maxDegreeOfParallelism);
        if (threads == 1 || rows == 1 || (long)src.Length < ParallelThreshold)
        {
            Quantize(type, src, dst, importance);
            return;
        }
        long chunkRows = Math.Max(1, (rows + threads * 4L - 1) / (threads * 4L));
        long chunks = (rows + chunkRows - 1) / chunkRows;
        fixed (float* ps = src)
        fixed (float* pw = importance)
        fixed (byte* pd = dst)
        {
            nint srcBase = (nint)ps, dstBase = (nint)pd, weightBase = (nint)pw;
            int weightCount = importance.Length;
            Parallel.For(0L, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, chunk =>
            {
                long first = chunk * chunkRows;
                long count = Math.Min(chunkRows, rows - first);
                var s = new ReadOnlySpan<float>((float*)srcBase + first * cols, checked((int)(count * cols)));
                var d = new Span<byte>((byte*)dstBase + first * rowBytes, checked((int)(count * rowBytes)));
                Quantize(type, s, d, new ReadOnlySpan<float>((float*)weightBase, weightCount));
            });
        }
    }

    /// <summary>Dequantizes a row-major matrix stored as rows × <see cref="RowBytes"/> bytes.</summary>
    public static void DequantizeMatrix(GgmlType type, ReadOnlySpan<byte> src, long rows, long cols, Span<float> dst)
    {
        CheckMatrix(type, dst.Length, src.Length, rows, cols);
        Dequantize(type, src, dst);
    }

    private static long CheckMatrix(GgmlType type, long values, long bytes, long rows, long cols)
    {
        if (rows < 0)
            throw new OptimizerException(ErrorCodes.QuantizationShapeInvalid, $"A matrix cannot have {rows} rows.");
        long rowBytes = RowBytes(type, cols);
        if (values != checked(rows * cols) || bytes != checked(rows * rowBytes))
            throw new OptimizerException(ErrorCodes.QuantizationShapeInvalid,
                $"A {rows} x {cols} {GgmlTypes.Name(type)} matrix is {rows * cols} values in {rows * rowBytes} bytes; got {values} values and {bytes} bytes.");
        return rowBytes;
    }

    private static void CheckImportance(GgmlType type, long values, int importance)
    {
        int block = GgmlTypes.BlockSize(type);
        if (importance % block != 0 || values % importance != 0)
            throw new OptimizerException(ErrorCodes.QuantizationShapeInvalid,
                $"An importance matrix of {importance} values (one per column) needs rows of that many values in whole {GgmlTypes.Name(type)} blocks of {block}; got {values} values.");
    }

    private static void CheckSizes(GgmlType type, long values, long bytes)
    {
        int block = GgmlTypes.BlockSize(type);
        if (values % block != 0)
            throw new OptimizerException(ErrorCodes.QuantizationShapeInvalid,
                $"{GgmlTypes.Name(type)} stores blocks of {block} values; {values} values are not whole blocks.");
        long expected = values / block * GgmlTypes.BlockBytes(type);
        if (bytes != expected)
            throw new OptimizerException(ErrorCodes.QuantizationShapeInvalid,
                $"{values} values take {expected} bytes as {GgmlTypes.Name(type)}; the buffer has {bytes}.");
    }

    private static ushort LittleEndian(ushort value) => BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);

    private static OptimizerException Unsupported(GgmlType type) =>
        new(ErrorCodes.QuantizationShapeInvalid, $"ggml type id {(uint)type} is not one this quantizer encodes.");
}
