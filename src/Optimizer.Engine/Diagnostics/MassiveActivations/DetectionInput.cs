using Optimizer.Engine.Calibration;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics.MassiveActivations;

/// <summary>What MA detection reads: the model (weights, tokenizer), the calibration, the statistics and the thresholds.</summary>
internal sealed record DetectionInput(
    ModelFolder Model,
    CalibrationSet Calibration,
    ActivationStatistics Statistics,
    IReadOnlyDictionary<(int, ProbeSite), IReadOnlyList<ActivationEntry>> Extremes,
    IReadOnlyDictionary<(int, ProbeSite), SiteThreshold> Thresholds,
    MassiveActivationOptions Options)
{
    /// <summary>The extreme entries examined at a site: the re-measured list when there is one, else the statistics' top-k.</summary>
    public IReadOnlyList<ActivationEntry> Entries(SiteStatistics site)
        => Extremes.TryGetValue((site.Layer, site.Site), out var list) ? list : site.Top;

    /// <summary>The value at (layer, site, token, channel) when it is among the examined entries.</summary>
    public double? Lookup(int layer, ProbeSite site, long tokenIndex, int channel)
    {
        if (!Statistics.TryGet(layer, site, out var stats) || stats is null) return null;
        foreach (var e in Entries(stats))
            if (e.TokenIndex == tokenIndex && e.Channel == channel) return e.Value;
        return null;
    }
}
