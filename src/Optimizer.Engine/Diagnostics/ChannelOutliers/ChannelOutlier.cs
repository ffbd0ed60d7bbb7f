using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics.ChannelOutliers;

/// <summary>
/// One channel-wise outlier (manifest <c>findings.channel_outliers[]</c>): channel <see cref="Channel"/> at
/// (<see cref="Layer"/>, <see cref="Site"/>) has a median |x| over tokens of at least <c>co.ratio</c> × the median over
/// channels.
/// </summary>
/// <param name="Layer">0-based decoder layer.</param>
/// <param name="Site">Operator position.</param>
/// <param name="Channel">The channel.</param>
/// <param name="MedianAbs">median_t |x[t, j]| (lower median, from <see cref="ChannelHistogram"/>).</param>
/// <param name="Ratio"><see cref="MedianAbs"/> / the lower median over channels of the per-channel medians.</param>
/// <param name="TokenFraction">Fraction of tokens with |x[t, j]| ≥ co.ratio/2 × the median over channels.</param>
/// <param name="Cause">The attribution.</param>
/// <param name="GammaRatio">|γ_j| / median|γ| of the norm producing the site, for cause gamma; otherwise null.</param>
/// <param name="Otc">The OTC that explains it, for cause otc; otherwise null.</param>
public sealed record ChannelOutlier(
    int Layer,
    ProbeSite Site,
    int Channel,
    double MedianAbs,
    double Ratio,
    double TokenFraction,
    ChannelOutlierCause Cause,
    double? GammaRatio,
    OutlierTriggeringChannel? Otc)
{
    /// <summary>Stable id of <see cref="Site"/>.</summary>
    public string SiteId => ProbeSites.Id(Site);
}
