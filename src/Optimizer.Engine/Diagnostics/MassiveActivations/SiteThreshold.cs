using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics.MassiveActivations;

/// <summary>The effective MA thresholds at one (layer, site): in scale-free mode they depend on the site's statistics.</summary>
/// <param name="Layer">Decoder layer.</param>
/// <param name="Site">Operator position.</param>
/// <param name="Magnitude">The magnitude bound.</param>
/// <param name="MagnitudeStrict">True: |x| must exceed <paramref name="Magnitude"/> (absolute mode); false: reach it.</param>
/// <param name="Ratio">|x| must be at least this multiple of the token's median |x|.</param>
public sealed record SiteThreshold(int Layer, ProbeSite Site, double Magnitude, bool MagnitudeStrict, double Ratio)
{
    /// <summary>Whether |x| passes the magnitude test.</summary>
    public bool PassesMagnitude(double magnitude) => MagnitudeStrict ? magnitude > Magnitude : magnitude >= Magnitude;

    /// <summary>Whether the ratio passes the relative test.</summary>
    public bool PassesRatio(double ratio) => ratio >= Ratio;
}
