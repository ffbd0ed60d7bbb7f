using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics;

/// <summary>Builds the per-(layer, site) census (D1) from the streaming statistics.</summary>
internal static class CensusBuilder
{
    public static IReadOnlyList<SiteCensus> Build(ActivationStatistics statistics, int topK)
    {
        var census = new List<SiteCensus>();
        foreach (var s in statistics.Sites)
        {
            double maxRatio = 0;
            ReadOnlySpan<float> max = s.TokenAbsMax, median = s.TokenMedianAbs;
            for (int t = 0; t < max.Length; t++)
            {
                if (float.IsNaN(max[t]) || !(median[t] > 0)) continue;
                maxRatio = Math.Max(maxRatio, max[t] / (double)median[t]);
            }
            census.Add(new SiteCensus(s.Layer, s.Site, s.Channels, s.MaxAbs, s.Quantile(0.5), s.Quantile(0.99), maxRatio,
                s.Top.Take(topK).ToArray()));
        }
        return census;
    }
}
