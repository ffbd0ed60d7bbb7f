namespace Optimizer.Engine.Diagnostics.MassiveActivations;

/// <summary>Everything the MA analysis found (manifest findings massive_activations, births, propagation, super_weights, near_threshold).</summary>
/// <param name="Options">The thresholds used (mode included).</param>
/// <param name="Occurrences">Every MA, sorted by layer, site order, token index, channel.</param>
/// <param name="Births">One per family, sorted by layer, site order, token position, channel.</param>
/// <param name="Propagation">Per residual channel carrying MAs, sorted by channel.</param>
/// <param name="SuperWeights">Sorted by layer, row, column.</param>
/// <param name="NearThreshold">At most <see cref="MassiveActivationOptions.MaxNearThreshold"/>, by descending |value| (then layer, site, token index, channel).</param>
/// <param name="Thresholds">The effective thresholds per (layer, site), layer-major, sites in forward order.</param>
public sealed record MassiveActivationReport(
    MassiveActivationOptions Options,
    IReadOnlyList<MassiveActivation> Occurrences,
    IReadOnlyList<MassiveActivationBirth> Births,
    IReadOnlyList<ResidualPropagation> Propagation,
    IReadOnlyList<SuperWeight> SuperWeights,
    IReadOnlyList<NearThresholdCandidate> NearThreshold,
    IReadOnlyList<SiteThreshold> Thresholds);
