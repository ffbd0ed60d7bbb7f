namespace Optimizer.Engine.Diagnostics.ChannelOutliers;

/// <summary>
/// Per-channel magnitude profile of one norm (manifest <c>profiles[]</c>), for the report: the max |x| per channel
/// before and after γ, and γ itself. Each array has hidden_size entries.
/// </summary>
/// <param name="Layer">0-based decoder layer.</param>
/// <param name="Norm">Which norm.</param>
/// <param name="PreGammaAbsMax">Per-channel max |x| of attn.norm_in / norm_in.</param>
/// <param name="PostGammaAbsMax">Per-channel max |x| of attn.y2 / y2.</param>
/// <param name="Gamma">The norm's weight γ.</param>
public sealed record NormProfile(int Layer, NormPosition Norm, IReadOnlyList<float> PreGammaAbsMax, IReadOnlyList<float> PostGammaAbsMax, IReadOnlyList<float> Gamma)
{
    /// <summary>Manifest id of <see cref="Norm"/>: <c>attn</c> or <c>ffn</c>.</summary>
    public string NormId => NormPositions.Id(Norm);
}
