using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics.MassiveActivations;

/// <summary>Where one MA family (token, residual channel) is born (D2; manifest <c>findings.births</c>).</summary>
/// <param name="Layer">Birth layer ℓ*.</param>
/// <param name="Site">The first site of that layer where the MA shows on the token (e.g. y6).</param>
/// <param name="Channel">Channel at <paramref name="Site"/> (the neuron k for y6).</param>
/// <param name="ResidualChannel">The residual channel j that carries it on.</param>
/// <param name="TokenIndex">Index in the calibration stream of the first occurrence.</param>
/// <param name="TokenPosition">Position in its sequence.</param>
/// <param name="TokenId">Token id.</param>
/// <param name="Value">The value at the birth site.</param>
public sealed record MassiveActivationBirth(int Layer, ProbeSite Site, int Channel, int ResidualChannel, long TokenIndex, int TokenPosition,
    int TokenId, double Value)
{
    /// <summary>Stable site id.</summary>
    public string SiteId => ProbeSites.Id(Site);
}
