using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// SmoothQuant input smoothing of q/k/v (exact; PAPER-NOTES M3 reading B, applied to every channel of every layer):
/// s_i = max|X_i|^α / max|W_{q,k,v}[:, i]|^(1−α), clamped ≥ the minimum scale, where X is attn.y2 as it is after any
/// γ flattening already planned (max|X_i| / |c_i|) and W the q/k/v weights after it (max|W[:, i]|·|c_i|). Folded like
/// γ flattening: γ ← γ/s, q/k/v columns × s. Channels with max|X_i| or max|W[:, i]| zero or not finite keep s = 1.
/// </summary>
internal static class SmoothQuantPlanner
{
    public static TransformRecord Plan(PlanContext context)
    {
        var options = context.Options;
        int hidden = context.Config.HiddenSize;
        var touched = new List<TransformTouch>();
        foreach (var layer in context.Layers)
        {
            ReadOnlySpan<float> inputMax = context.Site(layer.Layer, ProbeSite.AttnY2).ChannelAbsMax;
            if (inputMax.Length != hidden)
                throw new ArgumentException($"attn.y2 of layer {layer.Layer} has {inputMax.Length} channels, not {hidden}.", "analysis");
            var weightMax = new double[hidden];
            foreach (var role in new[] { TensorRole.Q, TensorRole.K, TensorRole.V })
            {
                float[] w = context.Read(role, layer.Layer);
                for (int offset = 0; offset < w.Length; offset += hidden)
                    for (int i = 0; i < hidden; i++) weightMax[i] = Math.Max(weightMax[i], Math.Abs(w[offset + i]));
            }
            double[] prior = layer.AttnColumns ?? LayerTransform.Ones(hidden);
            var factors = LayerTransform.Ones(hidden);
            for (int i = 0; i < hidden; i++)
            {
                double c = Math.Abs(prior[i]);
                double x = inputMax[i] / c, wmax = weightMax[i] * c;
                if (!(x > 0) || !(wmax > 0) || !double.IsFinite(x) || !double.IsFinite(wmax)) continue;
                double s = Math.Max(options.SmoothQuantMinScale, Math.Pow(x, options.SmoothQuantAlpha) / Math.Pow(wmax, 1 - options.SmoothQuantAlpha));
                if (ScaleMath.Usable(s)) factors[i] = s;
            }
            var touch = ScaleMath.Touch(layer.Layer, "attn_norm", factors);
            if (touch is null) continue;
            touched.Add(touch);
            layer.AttnColumns = ScaleMath.Compose(layer.AttnColumns, factors);
        }
        var parameters = new[]
        {
            ScaleMath.Parameter("alpha", options.SmoothQuantAlpha),
            ScaleMath.Parameter("min_scale", options.SmoothQuantMinScale),
        };
        return new TransformRecord(Mitigations.Id(Mitigation.Smooth), true, parameters, touched);
    }
}
