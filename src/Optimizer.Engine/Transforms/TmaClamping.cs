using Optimizer.Engine.Model;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// The approximate TMA clamp (PAPER-NOTES M1 <c>clamp(τ)</c> as a weight edit): for y6 neurons k with an MA of kind tma,
/// c_k = τ / max|y6_k| (the max as it is after any planned TMA smoothing) and, when c_k &lt; 1, up_proj row k × c_k
/// without compensation, so every token's y6_k shrinks by c_k. τ is <see cref="TransformOptions.ClampTau"/> or
/// <see cref="TransformOptions.ClampThresholdFraction"/> × the site's MA magnitude threshold. Layers where an MA is
/// born (a birth at any site) are never touched unless <see cref="TransformOptions.ClampBirthSite"/>; with it, their
/// birth-kind y6 neurons are clamped too. Not exact: its effect must be measured (the pipeline gates it).
/// </summary>
internal static class TmaClamping
{
    public static TransformRecord Plan(PlanContext context)
    {
        var options = context.Options;
        var report = context.Analysis.MassiveActivations;
        var birthLayers = report.Births.Select(b => b.Layer).ToHashSet();
        var touched = new List<TransformTouch>();
        foreach (var (layerIndex, neurons) in TmaSmoothing.Y6Neurons(report, includeBirth: options.ClampBirthSite))
        {
            if (!options.ClampBirthSite && birthLayers.Contains(layerIndex)) continue;
            var layer = context.Layers[layerIndex];
            double tau = options.ClampTau ?? options.ClampThresholdFraction * context.MagnitudeThreshold(layerIndex, ProbeSite.Y6);
            if (!(tau > 0) || !double.IsFinite(tau)) continue;
            ReadOnlySpan<float> channelMax = context.Site(layerIndex, ProbeSite.Y6).ChannelAbsMax;
            var factors = LayerTransform.Ones(channelMax.Length);
            foreach (int k in neurons)
            {
                if (k >= channelMax.Length) continue;
                double current = channelMax[k] / (layer.Y6?[k] ?? 1);
                if (!(current > tau) || !double.IsFinite(current)) continue;
                double c = tau / current;
                if (ScaleMath.Usable(c)) factors[k] = c;
            }
            var touch = ScaleMath.Touch(layerIndex, "y6", factors);
            if (touch is null) continue;
            touched.Add(touch);
            layer.Clamp = ScaleMath.Compose(layer.Clamp, factors);
        }
        var parameters = new List<TransformParameter>();
        if (options.ClampTau is double absolute) parameters.Add(ScaleMath.Parameter("tau", absolute));
        else parameters.Add(ScaleMath.Parameter("threshold_fraction", options.ClampThresholdFraction));
        parameters.Add(ScaleMath.Parameter("birth_site", options.ClampBirthSite ? "true" : "false"));
        return new TransformRecord(Mitigations.Id(Mitigation.TmaClamp), false, parameters, touched);
    }
}
