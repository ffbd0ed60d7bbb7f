using System.Globalization;

namespace Optimizer.Engine.Transforms;

/// <summary>Small helpers shared by the planners: guards, order statistics, touch records, parameter text.</summary>
internal static class ScaleMath
{
    /// <summary>True for a scale that may be applied: finite and not zero.</summary>
    public static bool Usable(double scale) => double.IsFinite(scale) && scale != 0;

    /// <summary>The lower median (element ⌈n/2⌉ ascending) of |values|, NaN values ignored; NaN when none is left.</summary>
    public static double LowerMedianAbs(IEnumerable<double> values)
    {
        var sorted = values.Select(Math.Abs).Where(v => !double.IsNaN(v)).ToArray();
        if (sorted.Length == 0) return double.NaN;
        Array.Sort(sorted);
        return sorted[(sorted.Length - 1) / 2];
    }

    /// <summary>The nearest-rank <paramref name="q"/> quantile (element ⌈q·n⌉ ascending) of the finite values; NaN when none.</summary>
    public static double Quantile(IEnumerable<double> values, double q)
    {
        var sorted = values.Where(double.IsFinite).ToArray();
        if (sorted.Length == 0) return double.NaN;
        Array.Sort(sorted);
        int rank = (int)Math.Ceiling(q * sorted.Length);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }

    /// <summary>Multiplies <paramref name="factors"/> into <paramref name="target"/> (created as ones when null); returns it.</summary>
    public static double[] Compose(double[]? target, double[] factors)
    {
        target ??= LayerTransform.Ones(factors.Length);
        for (int i = 0; i < factors.Length; i++) target[i] *= factors[i];
        return target;
    }

    /// <summary>The touch of one transform's own factors (channels whose factor is not 1), or null when none.</summary>
    public static TransformTouch? Touch(int layer, string target, double[] factors)
    {
        var channels = new List<int>();
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        for (int i = 0; i < factors.Length; i++)
        {
            if (factors[i] == 1) continue;
            channels.Add(i);
            min = Math.Min(min, factors[i]);
            max = Math.Max(max, factors[i]);
        }
        return channels.Count == 0 ? null : new TransformTouch(layer, target, channels, min, max);
    }

    /// <summary>A parameter with a number in invariant round-trip form.</summary>
    public static TransformParameter Parameter(string name, double value) => new(name, value.ToString("R", CultureInfo.InvariantCulture));

    /// <summary>A parameter with a text value.</summary>
    public static TransformParameter Parameter(string name, string value) => new(name, value);
}
