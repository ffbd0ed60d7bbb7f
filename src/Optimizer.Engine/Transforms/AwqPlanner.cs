using System.Globalization;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// Activation-aware scaling for weight-only formats (AWQ, Lin et al. 2023; exact; docs/quantization.md
/// "Activation-aware scaling"): in every layer, each of the four groups of linears that share an input
/// (<see cref="SmoothingGroupKind"/>) gets per-channel scales s_i = mean|X_i|^α, normalised by √(max s · min s) as AWQ
/// does, folded exactly like <c>smooth</c> (input ÷ s into γ or the previous linear, weight columns × s). α is searched
/// per group on <see cref="TransformOptions.AwqAlphaGrid"/> by <see cref="ScaleSearch"/> against
/// <see cref="TransformOptions.WeightTarget"/> (the GGUF recipe's round trip, float activations) on the calibration
/// sample; α = 0 (no scaling) is always a candidate, so a group is only changed when that lowers its output error. The
/// chosen α of every group is recorded as parameter <c>L{layer}.{group}.alpha</c>.
/// </summary>
internal static class AwqPlanner
{
    public static TransformRecord Plan(PlanContext context)
    {
        var options = context.Options;
        var weights = options.WeightTarget ?? throw new InvalidOperationException("awq needs TransformOptions.WeightTarget.");
        var target = new SearchTarget(weights.Name, weights, 0);
        var sample = context.Sample;
        var grid = options.AwqAlphaGrid;
        var (touched, perGroup) = SmoothingGroup.PlanAll(context, sample, group =>
        {
            double[] meanAbs = group.PerScaleMax(group.InputMeanAbs);
            var result = ScaleSearch.Search(group, grid, alpha => Scales(meanAbs, alpha, options.SmoothQuantMinScale), target);
            return (result.Alpha, result.Factors);
        });
        var parameters = new List<TransformParameter>
        {
            ScaleMath.Parameter("alpha", "search"),
            ScaleMath.Parameter("alpha_grid", string.Join(",", grid.Select(a => a.ToString("R", CultureInfo.InvariantCulture)))),
            ScaleMath.Parameter("target", weights.Name),
            ScaleMath.Parameter("sample_tokens", sample.Get(0, Model.ProbeSite.AttnY2).Rows),
        };
        parameters.AddRange(perGroup);
        return new TransformRecord(Mitigations.Id(Mitigation.Awq), true, parameters, touched);
    }

    /// <summary>AWQ's scales mean|x|^α per scale channel, normalised to a geometric mid of 1; null (s = 1) for α = 0.</summary>
    internal static double[]? Scales(double[] meanAbs, double alpha, double minScale)
    {
        if (alpha == 0) return null;
        var factors = LayerTransform.Ones(meanAbs.Length);
        double max = 0, min = double.PositiveInfinity;
        for (int j = 0; j < factors.Length; j++)
        {
            double m = meanAbs[j];
            if (!(m > 0) || !double.IsFinite(m)) continue;
            double s = Math.Pow(m, alpha);
            factors[j] = s;
            max = Math.Max(max, s);
            min = Math.Min(min, s);
        }
        if (!(max > 0)) return null;
        double mid = Math.Sqrt(max * min);
        for (int j = 0; j < factors.Length; j++)
        {
            double m = meanAbs[j];
            if (!(m > 0) || !double.IsFinite(m)) continue;
            double s = Math.Max(minScale, factors[j] / mid);
            factors[j] = ScaleMath.Usable(s) ? s : 1;
        }
        return factors;
    }
}
