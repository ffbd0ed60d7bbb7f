using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics.MassiveActivations;

/// <summary>One MA occurrence (manifest <c>findings.massive_activations</c>). Values are unrounded.</summary>
/// <param name="Layer">Decoder layer.</param>
/// <param name="Site">Operator position.</param>
/// <param name="TokenIndex">Index in the calibration stream.</param>
/// <param name="TokenPosition">Position in its sequence.</param>
/// <param name="TokenId">Token id.</param>
/// <param name="TokenText">The token as text (<see cref="Formats.ModelTokenizer.TokenText"/>).</param>
/// <param name="Channel">Channel (neuron for y3..y6).</param>
/// <param name="Value">Signed value.</param>
/// <param name="Ratio">|Value| / the token's median |x| at the site (+∞ when that median is 0).</param>
/// <param name="Kind">birth, tma or propagated.</param>
public sealed record MassiveActivation(int Layer, ProbeSite Site, long TokenIndex, int TokenPosition, int TokenId, string TokenText,
    int Channel, double Value, double Ratio, MassiveActivationKind Kind)
{
    /// <summary>Stable site id.</summary>
    public string SiteId => ProbeSites.Id(Site);
}
