namespace Optimizer.Bench;

/// <summary>Repeated measurements of one quantity: median, min and max.</summary>
public sealed class Sample
{
    private readonly List<double> _values = new();

    /// <summary>Adds one measurement.</summary>
    public void Add(double value) => _values.Add(value);

    /// <summary>Number of measurements.</summary>
    public int Count => _values.Count;

    /// <summary>Median (mean of the two middle values for an even count); NaN when empty.</summary>
    public double Median
    {
        get
        {
            if (_values.Count == 0) return double.NaN;
            var sorted = _values.Order().ToArray();
            int mid = sorted.Length / 2;
            return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        }
    }

    /// <summary>Smallest measurement; NaN when empty.</summary>
    public double Min => _values.Count == 0 ? double.NaN : _values.Min();

    /// <summary>Largest measurement; NaN when empty.</summary>
    public double Max => _values.Count == 0 ? double.NaN : _values.Max();

    /// <summary>"median (min–max)" with <paramref name="format"/>.</summary>
    public string Format(string format) => Count == 0 ? "n/a" : $"{Median.ToString(format)} ({Min.ToString(format)}–{Max.ToString(format)})";
}
