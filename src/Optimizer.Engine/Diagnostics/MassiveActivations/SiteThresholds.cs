using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics.MassiveActivations;

/// <summary>The effective MA thresholds of every recorded site and the ratio of an entry to its token's median.</summary>
internal static class SiteThresholds
{
    public static IReadOnlyDictionary<(int, ProbeSite), SiteThreshold> Compute(ActivationStatistics statistics, MassiveActivationOptions options)
    {
        var result = new Dictionary<(int, ProbeSite), SiteThreshold>();
        foreach (var s in statistics.Sites)
        {
            result[(s.Layer, s.Site)] = options.Mode == MassiveActivationMode.Absolute
                ? new SiteThreshold(s.Layer, s.Site, options.AbsoluteThreshold, true, options.RelativeThreshold)
                : new SiteThreshold(s.Layer, s.Site, options.ScaleFreeFactor * MedianTokenMax(s), false, options.RelativeThresholdScaleFree);
        }
        return result;
    }

    /// <summary>|x| / the token's median |x|: 0 for x = 0, +∞ when the median is 0 (or was not measured) and x ≠ 0.</summary>
    public static double Ratio(double magnitude, double tokenMedian)
    {
        if (!(magnitude > 0)) return 0;
        return tokenMedian > 0 ? magnitude / tokenMedian : double.PositiveInfinity;
    }

    /// <summary>Lower median over observed tokens of the per-token max |x|.</summary>
    private static double MedianTokenMax(SiteStatistics s)
    {
        var values = new List<float>(s.TokenSlots);
        foreach (float v in s.TokenAbsMax)
            if (!float.IsNaN(v)) values.Add(v);
        if (values.Count == 0) return 0;
        values.Sort();
        return values[(values.Count - 1) / 2];
    }
}
