using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics.MassiveActivations;

/// <summary>The effective MA thresholds of every recorded site and the ratio of an entry to its token's median.</summary>
internal static class SiteThresholds
{
    /// <summary>Ratios are finite: a token median of 0 counts as 10⁻¹² × |x|, so the ratio is at most 10¹².</summary>
    public const double MaxRatio = 1e12;

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

    /// <summary>|x| / the token's median |x|, capped at <see cref="MaxRatio"/>; 0 for x = 0.</summary>
    public static double Ratio(double magnitude, double tokenMedian)
    {
        if (!(magnitude > 0)) return 0;
        return magnitude / Math.Max(double.IsNaN(tokenMedian) ? 0 : tokenMedian, magnitude / MaxRatio);
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
