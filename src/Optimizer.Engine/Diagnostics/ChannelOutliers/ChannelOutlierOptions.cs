using System.Diagnostics.CodeAnalysis;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics.ChannelOutliers;

/// <summary>
/// Channel-wise outlier, γ and OTC thresholds (manifest <c>options.co</c>, <c>options.gamma</c>, <c>options.otc</c>);
/// every one is recorded in the manifest.
/// </summary>
public sealed record ChannelOutlierOptions
{
    /// <summary>The only CO rule so far (manifest <c>co.rule</c>); see <see cref="CoRatio"/>.</summary>
    public const string ChannelMedianRatioRule = "channel-median-ratio";

    /// <summary>
    /// A reading-B column i explains a CO of attn.q row j when |W_q[j, i]| · median_t |attn.y2[t, i]| is at least this
    /// share of median_t |attn.q[t, j]|.
    /// </summary>
    public const double ColumnExplanationShare = 0.5;

    /// <summary>The sites examined by default: the non-residual operator positions that feed linears or come out of them.</summary>
    public static readonly IReadOnlyList<ProbeSite> DefaultSites = new[]
    {
        ProbeSite.AttnY2, ProbeSite.AttnQ, ProbeSite.AttnK, ProbeSite.AttnV, ProbeSite.AttnOut,
        ProbeSite.Y2, ProbeSite.Y3, ProbeSite.Y4, ProbeSite.Y5, ProbeSite.Y6,
    };

    /// <summary>The CO rule id (manifest <c>co.rule</c>); only <see cref="ChannelMedianRatioRule"/> is known.</summary>
    public string Rule { get; init; } = ChannelMedianRatioRule;

    /// <summary>
    /// Channel j at a site is a CO when m_j = median_t |x[t, j]| ≥ ratio × M, with M the lower median over channels of
    /// the m_j (manifest <c>co.ratio</c>, default 10).
    /// </summary>
    public double CoRatio { get; init; } = 10;

    /// <summary>Sites examined for COs (manifest <c>co.sites</c>), default <see cref="DefaultSites"/>.</summary>
    public IReadOnlyList<ProbeSite> Sites { get; init; } = DefaultSites;

    /// <summary>A γ channel is an outlier when |γ_j| / median|γ| &gt; ratio (manifest <c>gamma.ratio</c>, default 5).</summary>
    public double GammaRatio { get; init; } = 5;

    /// <summary>A W_q row (reading A) or column (reading B) is an OTC when its score ≥ ratio (manifest <c>otc.ratio</c>, default 10).</summary>
    public double OtcRatio { get; init; } = 10;

    /// <summary>The manifest ids of <see cref="Sites"/>, in forward order.</summary>
    public IReadOnlyList<string> SiteIds => Sites.OrderBy(s => s).Select(ProbeSites.Id).ToArray();

    /// <summary>Checks the values; throws <see cref="OptimizerException"/> (<see cref="ErrorCodes.AnalysisOptionInvalid"/>).</summary>
    public void Validate()
    {
        if (Rule != ChannelMedianRatioRule) Fail($"co.rule must be '{ChannelMedianRatioRule}', not '{Rule}'.");
        AboveOne(CoRatio, "co.ratio");
        AboveOne(GammaRatio, "gamma.ratio");
        AboveOne(OtcRatio, "otc.ratio");
        if (Sites is null || Sites.Count == 0) Fail("co.sites must name at least one site.");
        var seen = new HashSet<ProbeSite>();
        foreach (var site in Sites)
        {
            if (!Enum.IsDefined(site)) Fail($"co.sites contains an unknown site ({(int)site}).");
            if (!seen.Add(site)) Fail($"co.sites lists {ProbeSites.Id(site)} twice.");
        }
    }

    private static void AboveOne(double value, string name)
    {
        if (!(value > 1) || double.IsInfinity(value)) Fail($"{name} must be a number above 1, not {value}.");
    }

    [DoesNotReturn]
    private static void Fail(string message) => throw new OptimizerException(ErrorCodes.AnalysisOptionInvalid, message);
}
