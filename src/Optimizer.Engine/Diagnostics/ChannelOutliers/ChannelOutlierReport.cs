namespace Optimizer.Engine.Diagnostics.ChannelOutliers;

/// <summary>What <see cref="ChannelOutlierAnalyzer"/> found, in manifest order.</summary>
/// <param name="Options">The effective options.</param>
/// <param name="Outliers">COs sorted by layer, site (forward order), channel.</param>
/// <param name="TriggeringChannels">OTCs sorted by layer, reading (row before column), index.</param>
/// <param name="Profiles">One per (layer, norm), layer-major, attention norm first.</param>
public sealed record ChannelOutlierReport(
    ChannelOutlierOptions Options,
    IReadOnlyList<ChannelOutlier> Outliers,
    IReadOnlyList<OutlierTriggeringChannel> TriggeringChannels,
    IReadOnlyList<NormProfile> Profiles);
