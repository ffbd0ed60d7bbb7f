using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Tests.Evaluation;

/// <summary>
/// A test-only weight scheme: rounds the values of <c>*_proj.weight</c> tensors to multiples of <see cref="Step"/>
/// (half to even) and keeps every other tensor in float. Counts its calls.
/// </summary>
internal sealed class GridRoundTrip : IWeightRoundTrip
{
    private int _calls;

    public GridRoundTrip(float step) => Step = step;

    public float Step { get; }

    public string Name => $"grid-{Step}";

    public int Calls => Volatile.Read(ref _calls);

    public static float Round(float value, float step) => MathF.Round(value / step, MidpointRounding.ToEven) * step;

    public bool TryRoundTrip(string tensorName, ReadOnlySpan<float> values, long rows, long cols, Span<float> restored)
    {
        Interlocked.Increment(ref _calls);
        Assert.Equal(rows * cols, values.Length);
        if (!tensorName.EndsWith("_proj.weight", StringComparison.Ordinal)) return false;
        for (int i = 0; i < values.Length; i++) restored[i] = Round(values[i], Step);
        return true;
    }
}
