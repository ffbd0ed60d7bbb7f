namespace Optimizer.Engine.Quantization;

/// <summary>
/// A weight quantization scheme seen from evaluation: it quantizes one stored tensor and dequantizes it again, so that a
/// float model can be run with exactly the values the quantized file will hold (weight-only fake quantization).
/// </summary>
public interface IWeightRoundTrip
{
    /// <summary>A short name for tables and the manifest, e.g. <c>Q4_0</c> or <c>int4-g128</c>.</summary>
    string Name { get; }

    /// <summary>
    /// Quantizes and dequantizes <paramref name="values"/>, the row-major <paramref name="rows"/> × <paramref name="cols"/>
    /// float32 contents of tensor <paramref name="tensorName"/> (Hugging Face name and layout), into
    /// <paramref name="restored"/>. Returns false, leaving <paramref name="restored"/> untouched, when the scheme keeps this
    /// tensor in float (e.g. norm weights). Must be deterministic and thread-safe.
    /// </summary>
    bool TryRoundTrip(string tensorName, ReadOnlySpan<float> values, long rows, long cols, Span<float> restored);
}
