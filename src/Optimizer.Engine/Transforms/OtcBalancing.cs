using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// OTC balancing between q and k (exact; PAPER-NOTES M3 reading A). The unit of rescaling is (layer, key/value head g,
/// RoPE pair p): key rows g·d + p and g·d + p + d/2, and the same two rows of every query head sharing g under GQA.
/// With Q = max |attn.q| over the unit's query rows and K = max |attn.k| over its key rows (calibration channel
/// maxima, pre-RoPE; RoPE mixes only within a pair), r = sqrt(Q / K): key rows × r, query rows ÷ r (biases too), so
/// both sides end at sqrt(Q·K) and every q·k logit is unchanged. With partial rotary (phi3's
/// <c>partial_rotary_factor</c>: R = <see cref="Formats.ModelConfig.RotaryDims"/> &lt; d) the pairs are p and p + R/2 for
/// p &lt; R/2, and each unrotated dimension p ≥ R is a unit of one row. Units come from reading-A OTC rows and attn.q / attn.k
/// channel-wise outliers (<see cref="OtcScope.Flagged"/>) or are every unit (<see cref="OtcScope.All"/>); a unit with Q
/// or K zero or not finite is left alone. With per-head q/k norms (qwen3) the balancing acts on the norms' γ instead
/// (γ_q ÷ r, γ_k × r, exact because each head is normalized before γ scales it); since one γ serves every head, the
/// unit is the RoPE pair alone, with Q and K the maxima of attn.q_norm / attn.k_norm over all heads
/// (docs/model-families.md).
/// </summary>
internal static class OtcBalancing
{
    public static TransformRecord Plan(PlanContext context)
    {
        var config = context.Config;
        int headDim = config.HeadDim, half = config.RotaryDims / 2, kvHeads = config.KeyValueHeads;
        int group = config.NumAttentionHeads / kvHeads;
        var units = Units(context, headDim, half, group);
        var touched = new List<TransformTouch>();
        foreach (var layer in context.Layers)
        {
            if (!units.TryGetValue(layer.Layer, out var layerUnits)) continue;
            bool onNorms = config.HasQkNorm;
            ReadOnlySpan<float> q = context.Site(layer.Layer, onNorms ? ProbeSite.AttnQNorm : ProbeSite.AttnQ).ChannelAbsMax;
            ReadOnlySpan<float> k = context.Site(layer.Layer, onNorms ? ProbeSite.AttnKNorm : ProbeSite.AttnK).ChannelAbsMax;
            if (q.Length != config.NumAttentionHeads * headDim || k.Length != kvHeads * headDim)
                throw new ArgumentException($"attn.q / attn.k of layer {layer.Layer} have {q.Length} / {k.Length} channels, not {config.NumAttentionHeads * headDim} / {kvHeads * headDim}.", "analysis");
            var factors = LayerTransform.Ones(kvHeads * headDim);
            foreach (var (g, p) in onNorms ? layerUnits.Select(u => (0, u.Pair)).Distinct() : layerUnits)
            {
                // Per-head norms: one unit per pair over every head (heads 0..H−1, key/value heads 0..KV−1).
                int firstKv = g, lastKv = onNorms ? kvHeads - 1 : g;
                int partner = p < half ? p + half : p; // partial rotary: an unrotated dimension is its own unit
                double maxQ = 0, maxK = 0;
                for (int kv = firstKv; kv <= lastKv; kv++)
                {
                    maxK = Math.Max(maxK, Math.Max(k[kv * headDim + p], k[kv * headDim + partner]));
                    for (int h = kv * group; h < (kv + 1) * group; h++)
                        maxQ = Math.Max(maxQ, Math.Max(q[h * headDim + p], q[h * headDim + partner]));
                }
                if (!(maxQ > 0) || !(maxK > 0) || !double.IsFinite(maxQ) || !double.IsFinite(maxK)) continue;
                double r = Math.Sqrt(maxQ / maxK);
                if (!ScaleMath.Usable(r)) continue;
                for (int kv = firstKv; kv <= lastKv; kv++)
                {
                    factors[kv * headDim + p] = r;
                    factors[kv * headDim + partner] = r;
                }
            }
            var touch = ScaleMath.Touch(layer.Layer, "qk", factors);
            if (touch is null) continue;
            touched.Add(touch);
            layer.QkRows = ScaleMath.Compose(layer.QkRows, factors);
        }
        var parameters = new[] { ScaleMath.Parameter("scope", OtcScopes.Id(context.Options.OtcScope)) };
        return new TransformRecord(Mitigations.Id(Mitigation.Otc), true, parameters, touched);
    }

    /// <summary>The (key/value head, pair) units to balance, per layer, in ascending order.</summary>
    private static SortedDictionary<int, SortedSet<(int Head, int Pair)>> Units(PlanContext context, int headDim, int half, int group)
    {
        var units = new SortedDictionary<int, SortedSet<(int, int)>>();
        void Add(int layer, int head, int dim)
        {
            if (!units.TryGetValue(layer, out var set)) units.Add(layer, set = new SortedSet<(int, int)>());
            set.Add((head, dim < 2 * half ? dim % half : dim));
        }
        if (context.Options.OtcScope == OtcScope.All)
        {
            for (int layer = 0; layer < context.Config.NumHiddenLayers; layer++)
                for (int g = 0; g < context.Config.KeyValueHeads; g++)
                    for (int p = 0; p < headDim; p++)
                        if (p < half || p >= 2 * half) Add(layer, g, p);
            return units;
        }
        foreach (var otc in context.Channels.TriggeringChannels.Where(o => o.Reading == OtcReading.Row))
            Add(otc.Layer, otc.Index / headDim / group, otc.Index % headDim);
        foreach (var co in context.Channels.Outliers)
        {
            if (co.Site == ProbeSite.AttnQ) Add(co.Layer, co.Channel / headDim / group, co.Channel % headDim);
            else if (co.Site == ProbeSite.AttnK) Add(co.Layer, co.Channel / headDim, co.Channel % headDim);
        }
        return units;
    }
}
