using Optimizer.Engine.Diagnostics.MassiveActivations;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// TMA smoothing at y6 (exact; PAPER-NOTES M1 as a rescaling): in every layer whose y6 (down_proj input) has massive
/// activations of kind birth or tma, each such neuron k gets s_k = max|y6_k| / target, with target the
/// <see cref="TransformOptions.TmaTargetQuantile"/> quantile of the other neurons' max |y6| capped at
/// <see cref="TransformOptions.TmaThresholdFraction"/> × the site's MA magnitude threshold; up_proj row k ÷ s_k and
/// down_proj column k × s_k (y6 = silu(gate)·up and there is no MLP bias, so y7 is unchanged). Only s_k &gt; 1 is
/// applied. The residual-stream MA the neuron writes stays: y7 and y8 are unchanged by construction.
/// </summary>
internal static class TmaSmoothing
{
    public static TransformRecord Plan(PlanContext context)
    {
        var options = context.Options;
        var touched = new List<TransformTouch>();
        foreach (var (layerIndex, neurons) in Y6Neurons(context.Analysis.MassiveActivations, includeBirth: true))
        {
            var layer = context.Layers[layerIndex];
            ReadOnlySpan<float> channelMax = context.Site(layerIndex, ProbeSite.Y6).ChannelAbsMax;
            var others = new List<double>(channelMax.Length);
            for (int k = 0; k < channelMax.Length; k++) if (!neurons.Contains(k)) others.Add(channelMax[k]);
            double target = ScaleMath.Quantile(others, options.TmaTargetQuantile);
            double threshold = context.MagnitudeThreshold(layerIndex, ProbeSite.Y6);
            if (double.IsFinite(threshold) && threshold > 0) target = double.IsNaN(target) ? options.TmaThresholdFraction * threshold : Math.Min(target, options.TmaThresholdFraction * threshold);
            if (!(target > 0) || !double.IsFinite(target)) continue;
            var factors = LayerTransform.Ones(channelMax.Length);
            foreach (int k in neurons)
            {
                if (k >= channelMax.Length) continue;
                double s = channelMax[k] / target;
                if (s > 1 && ScaleMath.Usable(s)) factors[k] = s;
            }
            var touch = ScaleMath.Touch(layerIndex, "y6", factors);
            if (touch is null) continue;
            touched.Add(touch);
            layer.Y6 = ScaleMath.Compose(layer.Y6, factors);
        }
        var parameters = new[]
        {
            ScaleMath.Parameter("target_quantile", options.TmaTargetQuantile),
            ScaleMath.Parameter("threshold_fraction", options.TmaThresholdFraction),
        };
        return new TransformRecord(Mitigations.Id(Mitigation.Tma), true, parameters, touched);
    }

    /// <summary>Per layer (ascending), the y6 neurons with an MA of kind tma (and birth when <paramref name="includeBirth"/>).</summary>
    internal static SortedDictionary<int, SortedSet<int>> Y6Neurons(MassiveActivationReport report, bool includeBirth)
    {
        var neurons = new SortedDictionary<int, SortedSet<int>>();
        foreach (var ma in report.Occurrences)
        {
            if (ma.Site != ProbeSite.Y6) continue;
            if (ma.Kind != MassiveActivationKind.Tma && !(includeBirth && ma.Kind == MassiveActivationKind.Birth)) continue;
            if (!neurons.TryGetValue(ma.Layer, out var set)) neurons.Add(ma.Layer, set = new SortedSet<int>());
            set.Add(ma.Channel);
        }
        return neurons;
    }
}
