using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Diagnostics.ChannelOutliers;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// Turns an analysis into a <see cref="TransformPlan"/>: γ flattening, SmoothQuant for q/k/v, OTC balancing, TMA
/// smoothing and the TMA clamp, in that order, each only when <see cref="TransformOptions.Mitigations"/> asks for it.
/// Later planners see what earlier ones planned (SmoothQuant measures the input after γ flattening, the clamp the y6
/// after smoothing). The plan is a pure function of the weights, the statistics and the options: the same input
/// gives the same plan, and every scale in it is finite and non-zero.
/// </summary>
public static class TransformPlanner
{
    /// <summary>
    /// Plans the mitigations of <paramref name="options"/> for the model of <paramref name="analysis"/> (its weights
    /// must still be open). <paramref name="channels"/> is the channel-outlier report of the same calibration run.
    /// </summary>
    /// <exception cref="OptimizerException">Invalid options (<see cref="ErrorCodes.TransformOptionInvalid"/>) or a missing or misshapen weight.</exception>
    public static TransformPlan Plan(ActivationAnalysis analysis, ChannelOutlierReport channels, TransformOptions options)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        ArgumentNullException.ThrowIfNull(channels);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var context = new PlanContext(analysis, channels, options);
        var records = new List<TransformRecord>();
        foreach (var mitigation in Mitigations.Ordered)
        {
            if (!options.Has(mitigation)) continue;
            records.Add(mitigation switch
            {
                Mitigation.Norm => GammaFlattening.Plan(context),
                Mitigation.Smooth => SmoothQuantPlanner.Plan(context),
                Mitigation.Otc => OtcBalancing.Plan(context),
                Mitigation.Tma => TmaSmoothing.Plan(context),
                _ => TmaClamping.Plan(context),
            });
        }
        return new TransformPlan(analysis.Config, options, context.Layers, records);
    }
}
