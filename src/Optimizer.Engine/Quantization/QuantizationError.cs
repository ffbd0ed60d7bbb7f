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
        if (original.Length != restored.Length)
            throw new ArgumentException($"Lengths differ: {original.Length} original values, {restored.Length} restored.", nameof(restored));
        double error = 0, norm = 0;
        for (int i = 0; i < original.Length; i++)
        {
            double o = original[i];
            double d = o - restored[i];
            error += d * d;
            norm += o * o;
        }
        if (norm == 0)
            return error == 0 ? 0 : double.PositiveInfinity;
        return Math.Sqrt(error / norm);
    }
}
