using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// ggml tensor encodings in pure C#: quantization bit-identical to llama.cpp's reference quantizers
/// (<c>quantize_row_*_ref</c>, i.e. what <c>llama-quantize</c> writes without an importance matrix) and the matching
/// dequantizers; F32/F16/BF16 are plain conversions with ggml's rounding.
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
            case GgmlType.Q4_K:
                Q4_KKernel.Quantize(src, dst);
                break;
            case GgmlType.Q6_K:
                Q6_KKernel.Quantize(src, dst);
                break;
            default:
                throw Unsupported(type);
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
            case GgmlType.Q4_K:
                Q4_KKernel.Dequantize(src, dst);
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
    /// Quantizes a row-major matrix as <c>llama-quantize</c> does with an importance matrix: <paramref name="importance"/>
    /// holds one weight per column (<see cref="Imatrix.ImportanceMatrix.GetQuantWeights"/>, the <c>quant_weights</c> of
    /// <c>ggml_quantize_chunk</c>) or is empty for the reference path. Types whose ggml quantizer ignores the weights
    /// (F32, F16, BF16, Q8_0) give exactly the bytes of <see cref="QuantizeMatrix(GgmlType, ReadOnlySpan{float}, long, long)"/>.
    /// The importance-weighted quantizers of the other types are not in this build yet: with non-empty weights they fail
    /// with <see cref="ErrorCodes.ImportanceQuantizationUnavailable"/>.
    /// </summary>
    public static byte[] QuantizeMatrix(GgmlType type, ReadOnlySpan<float> src, long rows, long cols, ReadOnlySpan<float> importance)
    {
        if (importance.IsEmpty || IgnoresImportance(type))
        {
            if (!importance.IsEmpty) CheckImportance(type, importance.Length, cols);
            return QuantizeMatrix(type, src, rows, cols);
        }
        CheckImportance(type, importance.Length, cols);
        throw new OptimizerException(ErrorCodes.ImportanceQuantizationUnavailable,
            $"Importance-weighted {GgmlTypes.Name(type)} quantization is not available in this build; quantize without an importance matrix or use Q8_0, F16, BF16 or F32.");
    }

    /// <summary>Whether ggml's quantizer of <paramref name="type"/> ignores an importance matrix (<c>(void)quant_weights</c>, or no quantization at all).</summary>
    public static bool IgnoresImportance(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.Q8_0;

    private static void CheckImportance(GgmlType type, long length, long cols)
    {
        if (length != cols)
            throw new OptimizerException(ErrorCodes.QuantizationShapeInvalid,
                $"An importance vector of {length} values does not fit a {GgmlTypes.Name(type)} matrix of {cols} columns (one weight per column).");
    }

    /// <summary>
    /// Quantizes a row-major matrix into <paramref name="dst"/> (exactly rows × <see cref="RowBytes"/> bytes), in parallel
    /// over chunks of rows with up to <paramref name="maxDegreeOfParallelism"/> threads (−1: all cores, 1: serial).
    /// </summary>
    public static unsafe void QuantizeMatrix(GgmlType type, ReadOnlySpan<float> src, long rows, long cols, Span<byte> dst,
        int maxDegreeOfParallelism = -1)
    {
        long rowBytes = CheckMatrix(type, src.Length, dst.Length, rows, cols);
        if (rows == 0)
            return;
        int threads = maxDegreeOfParallelism < 0 ? Environment.ProcessorCount : Math.Max(1, maxDegreeOfParallelism);
        if (threads == 1 || rows == 1 || (long)src.Length < ParallelThreshold)
        {
            Quantize(type, src, dst);
            return;
        }
        long chunkRows = Math.Max(1, (rows + threads * 4L - 1) / (threads * 4L));
        long chunks = (rows + chunkRows - 1) / chunkRows;
        fixed (float* ps = src)
        fixed (byte* pd = dst)
        {
            nint srcBase = (nint)ps, dstBase = (nint)pd;
            Parallel.For(0L, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, chunk =>
            {
                long first = chunk * chunkRows;
                long count = Math.Min(chunkRows, rows - first);
                var s = new ReadOnlySpan<float>((float*)srcBase + first * cols, checked((int)(count * cols)));
                var d = new Span<byte>((byte*)dstBase + first * rowBytes, checked((int)(count * rowBytes)));
                Quantize(type, s, d);
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
