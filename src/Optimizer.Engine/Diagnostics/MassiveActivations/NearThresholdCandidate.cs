using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics.MassiveActivations;

/// <summary>Which MA test a near-threshold candidate failed.</summary>
public enum NearThresholdCriterion
{
    /// <summary><c>absolute</c>: the magnitude test failed.</summary>
    Absolute,

    /// <summary><c>relative</c>: the token-median ratio test failed.</summary>
    Relative,

    /// <summary><c>both</c>: both failed.</summary>
    Both,
}

/// <summary>
/// An entry that reached <see cref="MassiveActivationOptions.NearThresholdFraction"/> of both MA thresholds without
/// passing both (manifest <c>findings.near_threshold</c>).
/// </summary>
public sealed record NearThresholdCandidate(int Layer, ProbeSite Site, long TokenIndex, int TokenPosition, int TokenId, string TokenText,
    int Channel, double Value, double Ratio, NearThresholdCriterion Criterion)
{
    /// <summary>Stable site id.</summary>
    public string SiteId => ProbeSites.Id(Site);

    /// <summary>Manifest id of <see cref="Criterion"/>.</summary>
    public string CriterionId => Criterion switch
    {
        NearThresholdCriterion.Absolute => "absolute",
        NearThresholdCriterion.Relative => "relative",
        _ => "both",
    };
}
