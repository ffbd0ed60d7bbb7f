namespace Optimizer.Engine.Manifest;

/// <summary>
/// The channel-wise part of a manifest: COs with their causes, W_q OTCs (both readings) and the per-channel profiles
/// at the norms, already in manifest form.
/// </summary>
public sealed record ChannelFindings(
    IReadOnlyList<ChannelOutlierRecord> ChannelOutliers,
    IReadOnlyList<OtcRecord> OutlierTriggeringChannels,
    IReadOnlyList<NormProfile> Profiles)
{
    /// <summary>No channel findings and no profiles.</summary>
    public static ChannelFindings Empty { get; } = new(Array.Empty<ChannelOutlierRecord>(), Array.Empty<OtcRecord>(), Array.Empty<NormProfile>());
}
