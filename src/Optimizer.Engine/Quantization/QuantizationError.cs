namespace Optimizer.Engine.Quantization;

/// <summary>Error measures of a quantize → dequantize round trip.</summary>
public static class QuantizationError
{
    /// <summary>
    /// ‖original − restored‖₂ / ‖original‖₂, accumulated in double. 0 when both are all zero; +∞ when only the
    /// original is all zero. The spans must have the same length.
    /// </summary>
    public static double RelativeRmse(ReadOnlySpan<float> original, ReadOnlySpan<float> restored)
    {
        var sums = new RelativeRmseSums();
        sums.Add(original, restored);
        return sums.Result;
    }
}

/// <summary>
/// The running sums of <see cref="QuantizationError.RelativeRmse"/>, for a tensor measured in consecutive pieces: adding
/// the pieces in element order gives a result bit-identical to measuring the whole tensor at once.
/// </summary>
public struct RelativeRmseSums
{
    private double _error;
    private double _norm;

    /// <summary>Adds the next piece of the tensor (same length on both sides).</summary>
    public void Add(ReadOnlySpan<float> original, ReadOnlySpan<float> restored)
    {
        if (original.Length != restored.Length)
            throw new ArgumentException($"Lengths differ: {original.Length} original values, {restored.Length} restored.", nameof(restored));
        for (int i = 0; i < original.Length; i++)
        {
            double o = original[i];
            double d = o - restored[i];
            _error += d * d;
            _norm += o * o;
        }
    }

    /// <summary>‖original − restored‖₂ / ‖original‖₂ so far: 0 when both are all zero, +∞ when only the original is.</summary>
    public readonly double Result => _norm == 0 ? (_error == 0 ? 0 : double.PositiveInfinity) : Math.Sqrt(_error / _norm);
}
