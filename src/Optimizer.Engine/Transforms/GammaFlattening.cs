using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// γ flattening (PAPER-NOTES M2, exact): for every norm whose output has a channel-wise outlier attributed to γ, pick a
/// flatter γ' (<see cref="GammaTargetMode"/>) and fold c = γ/γ' into the consumers: γ ← γ/c, W[:, j] ← W[:, j]·c_j for
/// q/k/v (input_layernorm) or gate/up (post_attention_layernorm). Channels with γ_j = 0 or a non-finite ratio keep
/// c_j = 1; a norm whose median |γ| is 0 is left alone.
/// </summary>
internal static class GammaFlattening
{
    public static TransformRecord Plan(PlanContext context)
    {
        var options = context.Options;
        double gammaRatio = context.Channels.Options.GammaRatio;
        var touched = new List<TransformTouch>();
        var gammaNorms = context.Channels.Outliers
            .Where(o => o.Cause == ChannelOutlierCause.Gamma && o.Site is ProbeSite.AttnY2 or ProbeSite.Y2)
            .Select(o => (o.Layer, o.Site)).ToHashSet();
        foreach (var layer in context.Layers)
        {
            foreach (bool attention in new[] { true, false })
            {
                var site = attention ? ProbeSite.AttnY2 : ProbeSite.Y2;
                if (!gammaNorms.Contains((layer.Layer, site))) continue;
                float[] gamma = NormScale.Effective(context.Config, context.Read(attention ? TensorRole.AttnNorm : TensorRole.FfnNorm, layer.Layer));
                double[] factors = Factors(gamma, options, gammaRatio);
                var touch = ScaleMath.Touch(layer.Layer, attention ? "attn_norm" : "ffn_norm", factors);
                if (touch is null) continue;
                touched.Add(touch);
                if (attention) layer.AttnColumns = ScaleMath.Compose(layer.AttnColumns, factors);
                else layer.FfnColumns = ScaleMath.Compose(layer.FfnColumns, factors);
            }
        }
        var parameters = new List<TransformParameter>
        {
            ScaleMath.Parameter("mode", GammaTargetModes.Id(options.GammaMode)),
            ScaleMath.Parameter("gamma_ratio", gammaRatio),
        };
        if (options.GammaMode == GammaTargetMode.Clip) parameters.Add(ScaleMath.Parameter("clip_factor", options.GammaClipFactor));
        if (options.GammaMode == GammaTargetMode.Interp) parameters.Add(ScaleMath.Parameter("beta", options.GammaInterpolation));
        return new TransformRecord(Mitigations.Id(Mitigation.Norm), true, parameters, touched);
    }

    /// <summary>c_j = γ_j / γ'_j for every channel under <paramref name="options"/> (1 where undefined).</summary>
    internal static double[] Factors(ReadOnlySpan<float> gamma, TransformOptions options, double gammaRatio)
    {
        var factors = LayerTransform.Ones(gamma.Length);
        var magnitudes = new double[gamma.Length];
        for (int j = 0; j < gamma.Length; j++) magnitudes[j] = gamma[j];
        double median = ScaleMath.LowerMedianAbs(magnitudes);
        if (!(median > 0) || !double.IsFinite(median)) return factors;
        for (int j = 0; j < gamma.Length; j++)
        {
            double g = gamma[j], a = Math.Abs(g);
            if (!(a > 0) || !double.IsFinite(a)) continue;
            double factor = options.GammaMode switch
            {
                GammaTargetMode.Outliers => a / median > gammaRatio ? a / median : 1,
                GammaTargetMode.Clip => a / Math.Clamp(a, median / options.GammaClipFactor, median * options.GammaClipFactor),
                GammaTargetMode.Interp => Math.Pow(a / median, options.GammaInterpolation),
                _ => g,
            };
            if (ScaleMath.Usable(factor)) factors[j] = factor;
        }
        return factors;
    }
}
