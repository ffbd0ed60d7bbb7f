using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// The relative RMSE of an encoded tensor against its F32 values, computed by dequantizing a bounded chunk of rows at a
/// time into one small reused buffer instead of a restored copy of the whole tensor. The chunks go through
/// <see cref="RelativeRmseSums"/> in element order, so the result is bit-identical to
/// <see cref="QuantizationError.RelativeRmse"/> over the whole tensor.
/// </summary>
internal static class EncodedTensorError
{
    /// <summary>Floats dequantized per chunk (256 KiB): fits in cache, whole rows only.</summary>
    private const int ChunkFloats = 1 << 16;

    /// <summary>
    /// Returns the relative RMSE of <paramref name="encoded"/> (<paramref name="rows"/> × <paramref name="cols"/> in
    /// <paramref name="type"/>) against <paramref name="values"/>; 0 for F32.
    /// </summary>
    public static double RelativeRmse(GgmlType type, ReadOnlySpan<float> values, ReadOnlySpan<byte> encoded, long rows, long cols)
    {
        if (type == GgmlType.F32) return 0;
        if (rows * cols != values.Length)
            throw new ArgumentException($"{values.Length} values are not {rows} rows of {cols}.", nameof(values));
        long rowBytes = GgmlQuantizer.RowBytes(type, cols);
        if (rows * rowBytes != encoded.Length)
            throw new ArgumentException($"{encoded.Length} encoded bytes are not {rows} rows of {rowBytes}.", nameof(encoded));
        long chunkRows = Math.Max(1, ChunkFloats / Math.Max(1, cols));
        var restored = new float[Math.Min(values.Length, checked((int)(chunkRows * cols)))];
        var sums = new RelativeRmseSums();
        for (long first = 0; first < rows; first += chunkRows)
        {
            long count = Math.Min(chunkRows, rows - first);
            int length = checked((int)(count * cols));
            var original = values.Slice(checked((int)(first * cols)), length);
            var target = restored.AsSpan(0, length);
            GgmlQuantizer.DequantizeMatrix(type, encoded.Slice(checked((int)(first * rowBytes)), checked((int)(count * rowBytes))), count, cols, target);
            sums.Add(original, target);
        }
        return sums.Result;
    }
}
