using Optimizer.Engine.Model;

namespace Optimizer.Fixtures;

/// <summary>
/// One place where the planted massive activation is expected on the BOS token (position 0), with the exact value a
/// float64 forward of the stored weights gives there.
/// </summary>
/// <param name="Layer">Decoder layer.</param>
/// <param name="Site">Stable site id (<see cref="ProbeSites.Id"/>): y6 (neuron index) or y7, y8, attn.y1, y1 (channel).</param>
/// <param name="Index">Neuron k for y6, residual channel j otherwise.</param>
/// <param name="Value">The value at (token 0, index).</param>
/// <param name="TokenMedianAbs">Lower median over the site's channels of |x| for token 0 (as the engine's statistics).</param>
/// <param name="Ratio">|Value| / TokenMedianAbs.</param>
/// <param name="IsMassive">Whether it meets the default MA criterion (|x| &gt; 100 and ratio ≥ 1000).</param>
/// <param name="IsBirth">True at the birth layer's y6/y7/y8, false for residual-carried copies.</param>
public sealed record MassiveActivationSite(int Layer, string Site, int Index, double Value, double TokenMedianAbs, double Ratio, bool IsMassive, bool IsBirth)
{
    /// <summary>Default absolute MA threshold (Sun et al.).</summary>
    public const double AbsoluteThreshold = 100;

    /// <summary>Default relative MA threshold: multiple of the token's median |x| (Sun et al.).</summary>
    public const double RelativeThreshold = 1000;

    /// <summary>Whether (value, token median) meets the default MA criterion.</summary>
    public static bool MeetsCriterion(double value, double tokenMedianAbs) =>
        Math.Abs(value) > AbsoluteThreshold && Math.Abs(value) >= RelativeThreshold * tokenMedianAbs;
}
