using System.Globalization;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// SmoothQuant smoothing for W8A8 (exact; docs/smoothing.md) of the four groups of linears that share an input in every
/// layer: q/k/v after the attention norm, gate/up after the FFN norm, down after y6 and o after v
/// (<see cref="SmoothingGroupKind"/>). A group's scale per input channel is s_i = max|X_i|^α / max|W[:, i]|^(1−α),
/// clamped ≥ the minimum scale, with X the group's input and W its weights as they are after the transforms planned
/// before (γ flattening, OTC, TMA smoothing and the clamp; the o/v group takes the maxima over the query heads that read
/// one value channel). α = 0 means the group is left alone. Unless <see cref="TransformOptions.SmoothQuantAlpha"/> fixes
/// α, it is searched per group and layer on <see cref="TransformOptions.SmoothQuantAlphaGrid"/> by
/// <see cref="ScaleSearch"/>: the α whose scales give the smallest output error of the group under the target the
/// evaluation scores — int8 per-output-channel weights (<see cref="IntRoundTrip"/>) and 8-bit per-tensor static
/// activations (range = calibration max |x| of the scaled input) — on the calibration sample. Channels with max|X_i| or
/// max|W[:, i]| zero or not finite keep s = 1. The chosen α of every group is recorded as parameter
/// <c>L{layer}.{group}.alpha</c>.
/// </summary>
internal static class SmoothQuantPlanner
{
    /// <summary>The target the search optimizes for, named as in the manifest.</summary>
    public const string TargetName = "int8+a8-per-tensor-static";

    public static TransformRecord Plan(PlanContext context)
    {
        var options = context.Options;
        bool search = options.SmoothQuantAlpha is null;
        var grid = search ? options.SmoothQuantAlphaGrid : new[] { options.SmoothQuantAlpha!.Value };
        var target = new SearchTarget(TargetName, new IntRoundTrip(context.Config, 8), 8);
        var sample = search ? context.Sample : null;
        var (touched, perGroup) = SmoothingGroup.PlanAll(context, sample, group =>
        {
            double[] inputMax = group.PerScaleMax(group.InputMax), weightMax = group.WeightColumnMax();
            Func<double, double[]?> candidate = alpha => Scales(inputMax, weightMax, alpha, options.SmoothQuantMinScale);
            if (!search) return (grid[0], candidate(grid[0]));
            var result = ScaleSearch.Search(group, grid, candidate, target);
            return (result.Alpha, result.Factors);
        });
        var parameters = new List<TransformParameter>
        {
            search ? ScaleMath.Parameter("alpha", "search") : ScaleMath.Parameter("alpha", options.SmoothQuantAlpha!.Value),
        };
        if (search)
        {
            parameters.Add(ScaleMath.Parameter("alpha_grid", string.Join(",", grid.Select(a => a.ToString("R", CultureInfo.InvariantCulture)))));
            parameters.Add(ScaleMath.Parameter("target", TargetName));
            parameters.Add(ScaleMath.Parameter("sample_tokens", sample!.Get(0, Model.ProbeSite.AttnY2).Rows));
        }
        parameters.Add(ScaleMath.Parameter("min_scale", options.SmoothQuantMinScale));
        parameters.AddRange(perGroup);
        return new TransformRecord(Mitigations.Id(Mitigation.Smooth), true, parameters, touched);
    }

    /// <summary>
    /// SmoothQuant's scales for <paramref name="alpha"/> from the per-scale-channel input and weight maxima; null (s = 1)
    /// for α = 0.
    /// </summary>
    internal static double[]? Scales(double[] inputMax, double[] weightMax, double alpha, double minScale)
    {
        if (alpha == 0) return null;
        var factors = LayerTransform.Ones(inputMax.Length);
        for (int j = 0; j < factors.Length; j++)
        {
            double x = inputMax[j], w = weightMax[j];
            if (!(x > 0) || !(w > 0) || !double.IsFinite(x) || !double.IsFinite(w)) continue;
            double s = Math.Max(minScale, Math.Pow(x, alpha) / Math.Pow(w, 1 - alpha));
            if (ScaleMath.Usable(s)) factors[j] = s;
        }
        return factors;
    }
}
