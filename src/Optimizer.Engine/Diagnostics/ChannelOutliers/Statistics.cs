namespace Optimizer.Engine.Diagnostics.ChannelOutliers;

/// <summary>Small order statistics shared by the channel-outlier rules.</summary>
internal static class Statistics
{
    /// <summary>The lower median (element ⌈n/2⌉ in ascending order) of the magnitudes; NaN when empty. NaN inputs sort last.</summary>
    public static double LowerMedian(ReadOnlySpan<double> values)
    {
        if (values.Length == 0) return double.NaN;
        var sorted = new double[values.Length];
        for (int i = 0; i < values.Length; i++) sorted[i] = Math.Abs(values[i]);
        Array.Sort(sorted, NaNLast);
        return sorted[(sorted.Length - 1) / 2];
    }

    private static int NaNLast(double a, double b) =>
        double.IsNaN(a) ? (double.IsNaN(b) ? 0 : 1) : double.IsNaN(b) ? -1 : a.CompareTo(b);

    /// <summary>|value_j| / lower-median |value| for every j (NaN everywhere when the median is 0).</summary>
    public static double[] RatiosToMedian(ReadOnlySpan<float> values)
    {
        var abs = new double[values.Length];
        for (int i = 0; i < values.Length; i++) abs[i] = Math.Abs(values[i]);
        double median = LowerMedian(abs);
        for (int i = 0; i < abs.Length; i++) abs[i] = median > 0 ? abs[i] / median : double.NaN;
        return abs;
    }
}
