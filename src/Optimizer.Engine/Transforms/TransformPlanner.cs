using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Diagnostics.ChannelOutliers;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// Turns an analysis into a <see cref="TransformPlan"/>: γ flattening, SmoothQuant smoothing of the four input groups,
/// OTC balancing, TMA smoothing and the TMA clamp, each only when <see cref="TransformOptions.Mitigations"/> asks for it.
/// They are planned in the order γ flattening, OTC, TMA smoothing, clamp, SmoothQuant (<see cref="PlanningOrder"/>) and
/// recorded in <see cref="Mitigations.Ordered"/> order. Later planners see what earlier ones planned: the clamp bounds
/// y6 as it is after TMA smoothing, and SmoothQuant searches its scales on inputs and weights with every other
/// transform already applied, so the TMA-smoothed y6 neurons are smoothed further only when that lowers the W8A8 error
/// (docs/smoothing.md). The plan is a pure function of the weights, the calibration and the options: the same input
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
        var records = new Dictionary<Mitigation, TransformRecord>();
        foreach (var (mitigation, reason) in ArchitectureSupport.Check(options, analysis.Config))
            records.Add(mitigation, new TransformRecord(Mitigations.Id(mitigation), Mitigations.IsExact(mitigation),
                new[] { new TransformParameter("skipped", reason) }, Array.Empty<TransformTouch>()));
        foreach (var mitigation in PlanningOrder)
        {
            if (!options.Has(mitigation) || records.ContainsKey(mitigation)) continue;
            records.Add(mitigation, mitigation switch
            {
                Mitigation.Norm => GammaFlattening.Plan(context),
                Mitigation.Smooth => SmoothQuantPlanner.Plan(context),
                Mitigation.Otc => OtcBalancing.Plan(context),
                Mitigation.Tma => TmaSmoothing.Plan(context),
                Mitigation.Awq => AwqPlanner.Plan(context),
                _ => TmaClamping.Plan(context),
            });
        }
        var ordered = Mitigations.Ordered.Where(records.ContainsKey).Select(m => records[m]).ToArray();
        return new TransformPlan(analysis.Config, options, context.Layers, ordered);
    }

    /// <summary>The order the single mitigations are planned in (SmoothQuant last, on top of every other transform).</summary>
    public static IReadOnlyList<Mitigation> PlanningOrder { get; } = new[] { Mitigation.Norm, Mitigation.Otc, Mitigation.Tma, Mitigation.TmaClamp, Mitigation.Smooth, Mitigation.Awq };
}
