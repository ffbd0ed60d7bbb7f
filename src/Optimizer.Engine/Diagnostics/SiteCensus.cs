using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics;

/// <summary>The census of one (layer, site) (D1; manifest <c>census</c>). Values are unrounded.</summary>
/// <param name="Layer">Decoder layer.</param>
/// <param name="Site">Operator position.</param>
/// <param name="Channels">Channels of the activation.</param>
/// <param name="MaxAbs">max |x|.</param>
/// <param name="MedianAbs">Median |x| over all entries (from the histogram).</param>
/// <param name="P99Abs">99th percentile of |x| (from the histogram).</param>
/// <param name="MaxTokenRatio">Largest per-token max |x| / that token's median |x|; tokens with median 0 are skipped (0 when none qualify).</param>
/// <param name="Top">The largest-|x| entries (up to the census top_k), by descending |value|, then token index, then channel.</param>
public sealed record SiteCensus(int Layer, ProbeSite Site, int Channels, double MaxAbs, double MedianAbs, double P99Abs, double MaxTokenRatio,
    IReadOnlyList<ActivationEntry> Top)
{
    /// <summary>Stable site id.</summary>
    public string SiteId => ProbeSites.Id(Site);
}
