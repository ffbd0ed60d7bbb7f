using System.Globalization;

namespace Optimizer.Tool.Report;

/// <summary>A base-10 logarithmic value axis over whole decades, with tick decades and labels.</summary>
public sealed class LogAxis
{
    private const int MaxLabelledDecades = 8;

    /// <summary>An axis that covers every positive value in <paramref name="values"/> (at least one decade).</summary>
    public LogAxis(IEnumerable<double> values)
    {
        double min = double.PositiveInfinity, max = 0;
        foreach (double v in values)
        {
            if (!(v > 0) || !double.IsFinite(v)) continue;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        if (max == 0)
        {
            min = 1;
            max = 10;
        }
        LowDecade = (int)Math.Floor(Math.Log10(min));
        HighDecade = (int)Math.Ceiling(Math.Log10(max));
        if (HighDecade <= LowDecade) HighDecade = LowDecade + 1;
    }

    /// <summary>The decade at the bottom of the axis (10^LowDecade).</summary>
    public int LowDecade { get; }

    /// <summary>The decade at the top of the axis.</summary>
    public int HighDecade { get; }

    /// <summary>The smallest value the axis shows; smaller and non-positive values are drawn there.</summary>
    public double Minimum => Math.Pow(10, LowDecade);

    /// <summary>Position of <paramref name="value"/> in [0, 1] from the bottom of the axis.</summary>
    public double Fraction(double value)
    {
        if (!(value > 0)) return 0;
        double f = (Math.Log10(value) - LowDecade) / (HighDecade - LowDecade);
        return Math.Clamp(f, 0, 1);
    }

    /// <summary>The decades that get a labelled tick (every decade, or every n-th when there are many).</summary>
    public IEnumerable<int> LabelledDecades()
    {
        int span = HighDecade - LowDecade;
        int step = Math.Max(1, (span + MaxLabelledDecades - 1) / MaxLabelledDecades);
        for (int d = LowDecade; d <= HighDecade; d += step) yield return d;
    }

    /// <summary>Minor grid values (2× and 5× each decade) when the axis spans few decades; none otherwise.</summary>
    public IEnumerable<double> MinorValues()
    {
        if (HighDecade - LowDecade > 4) yield break;
        for (int d = LowDecade; d < HighDecade; d++)
        {
            yield return 2 * Math.Pow(10, d);
            yield return 5 * Math.Pow(10, d);
        }
    }

    /// <summary>The label of decade <paramref name="decade"/>: <c>0.01</c>, <c>1</c>, <c>1000</c>, <c>1e5</c>, <c>1e-5</c>.</summary>
    public static string Label(int decade) => decade switch
    {
        >= 0 and <= 4 => Math.Pow(10, decade).ToString("0", CultureInfo.InvariantCulture),
        >= -3 and < 0 => Math.Pow(10, decade).ToString("0.###", CultureInfo.InvariantCulture),
        _ => "1e" + decade.ToString(CultureInfo.InvariantCulture),
    };
}
