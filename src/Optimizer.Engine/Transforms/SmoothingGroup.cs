using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Transforms;

/// <summary>The four groups of linears that share one input and can absorb an exact per-channel scale (docs/smoothing.md).</summary>
internal enum SmoothingGroupKind
{
    /// <summary>q/k/v_proj after input_layernorm: γ ← γ/s, q/k/v columns × s (touch target <c>attn_norm</c>).</summary>
    Qkv,

    /// <summary>gate/up_proj after post_attention_layernorm: γ ← γ/s, gate/up columns × s (target <c>ffn_norm</c>).</summary>
    GateUp,

    /// <summary>down_proj after y6 = silu(gate)·up: up rows ÷ s, down columns × s (target <c>y6</c>).</summary>
    Down,

    /// <summary>o_proj after the attention of v: v rows (and bias) ÷ s, o columns × s, one s per key/value channel (target <c>v_o</c>).</summary>
    OV,
}

/// <summary>
/// One group of one layer as the scale searches see it, with every transform planned so far applied: the sampled
/// input rows <see cref="Input"/> ([<see cref="Rows"/>, <see cref="InputWidth"/>] float32), the input's per-channel
/// max |x| over the whole calibration, and the current float weights of its linears ([out, InputWidth] each). A group
/// scale has <see cref="Width"/> channels; input channel i is divided by scale <see cref="ChannelOf"/>[i] (the identity
/// map except for <see cref="SmoothingGroupKind.OV"/>, where query head h's channel h·head_dim + d reads key/value
/// channel (h / group)·head_dim + d).
/// </summary>
internal sealed record SmoothingGroup(
    int Layer, SmoothingGroupKind Kind, int Width, int[] ChannelOf,
    float[] Input, int Rows, int InputWidth, double[] InputMax, double[] InputMeanAbs,
    IReadOnlyList<SmoothingLinear> Linears)
{
    /// <summary>The group's short name in the manifest parameters: <c>qkv</c>, <c>gate_up</c>, <c>down</c>, <c>o_v</c>.</summary>
    public string Name => Names(Kind);

    /// <summary>The touch target the group's scales are recorded under.</summary>
    public string Target => Kind switch
    {
        SmoothingGroupKind.Qkv => "attn_norm",
        SmoothingGroupKind.GateUp => "ffn_norm",
        SmoothingGroupKind.Down => "y6",
        _ => "v_o",
    };

    /// <summary>The short name of <paramref name="kind"/>.</summary>
    public static string Names(SmoothingGroupKind kind) => kind switch
    {
        SmoothingGroupKind.Qkv => "qkv",
        SmoothingGroupKind.GateUp => "gate_up",
        SmoothingGroupKind.Down => "down",
        _ => "o_v",
    };

    /// <summary>
    /// Plans every group of every layer in order (each on the weights with the earlier groups' scales folded):
    /// <paramref name="choose"/> gives a group's α and scales (null: left alone); records <c>L{layer}.{group}.alpha</c>,
    /// folds the scales and returns the touches (per layer sorted by target) and the α parameters.
    /// </summary>
    internal static (List<TransformTouch> Touched, List<TransformParameter> Alphas) PlanAll(PlanContext context, CalibrationSample? sample,
        Func<SmoothingGroup, (double Alpha, double[]? Factors)> choose)
    {
        var touched = new List<TransformTouch>();
        var alphas = new List<TransformParameter>();
        foreach (var layer in context.Layers)
        {
            var layerTouches = new List<TransformTouch>();
            foreach (var kind in All)
            {
                var group = Build(context, layer, kind, sample);
                var (alpha, factors) = choose(group);
                alphas.Add(ScaleMath.Parameter($"L{layer.Layer}.{group.Name}.alpha", alpha));
                if (factors is null || ScaleMath.Touch(layer.Layer, group.Target, factors) is not { } touch) continue;
                layerTouches.Add(touch);
                group.Fold(layer, factors);
            }
            touched.AddRange(layerTouches.OrderBy(t => t.Target, StringComparer.Ordinal));
        }
        return (touched, alphas);
    }

    /// <summary>Every group kind, in the order the planners search them within a layer.</summary>
    public static readonly SmoothingGroupKind[] All = { SmoothingGroupKind.Qkv, SmoothingGroupKind.GateUp, SmoothingGroupKind.Down, SmoothingGroupKind.OV };

    /// <summary>
    /// Builds the group of <paramref name="kind"/> for <paramref name="layer"/> from the analysis statistics, the
    /// calibration sample (null: no rows, for planners that only need the statistics) and the transforms planned so far.
    /// </summary>
    public static SmoothingGroup Build(PlanContext context, LayerTransform layer, SmoothingGroupKind kind, CalibrationSample? sample)
    {
        var config = context.Config;
        int l = layer.Layer;
        var (site, roles) = kind switch
        {
            SmoothingGroupKind.Qkv => (ProbeSite.AttnY2, new[] { TensorRole.Q, TensorRole.K, TensorRole.V }),
            SmoothingGroupKind.GateUp => (ProbeSite.Y2, new[] { TensorRole.Gate, TensorRole.Up }),
            SmoothingGroupKind.Down => (ProbeSite.Y6, new[] { TensorRole.Down }),
            _ => (ProbeSite.AttnOut, new[] { TensorRole.O }),
        };
        var stats = context.Site(l, site);
        int inputWidth = stats.Channels;
        // The factor each input channel is already multiplied by (exact transforms planned earlier; the clamp's c_k).
        var prior = new double[inputWidth];
        int[] channelOf = Enumerable.Range(0, inputWidth).ToArray();
        int width = inputWidth;
        for (int i = 0; i < inputWidth; i++)
        {
            prior[i] = kind switch
            {
                SmoothingGroupKind.Qkv => 1 / (layer.AttnColumns?[i] ?? 1),
                SmoothingGroupKind.GateUp => 1 / (layer.FfnColumns?[i] ?? 1),
                SmoothingGroupKind.Down => (layer.Clamp?[i] ?? 1) / (layer.Y6?[i] ?? 1),
                _ => 1,
            };
        }
        if (kind == SmoothingGroupKind.OV)
        {
            int headDim = config.HeadDim, group = config.NumAttentionHeads / config.KeyValueHeads;
            width = config.KeyValueHeads * headDim;
            for (int i = 0; i < inputWidth; i++)
            {
                channelOf[i] = i / headDim / group * headDim + i % headDim;
                prior[i] = 1 / (layer.ValueRows?[channelOf[i]] ?? 1);
            }
        }
        ReadOnlySpan<float> max = stats.ChannelAbsMax;
        float[] mean = stats.ChannelMeanAbs();
        var inputMax = new double[inputWidth];
        var inputMean = new double[inputWidth];
        for (int i = 0; i < inputWidth; i++)
        {
            inputMax[i] = max[i] * Math.Abs(prior[i]);
            inputMean[i] = mean[i] * Math.Abs(prior[i]);
        }
        float[] input = Array.Empty<float>();
        int rows = 0;
        if (sample is not null)
        {
            var (values, count, channels) = sample.Get(l, site);
            if (channels != inputWidth)
                throw new ArgumentException($"The calibration sample of layer {l}, {ProbeSites.Id(site)} has {channels} channels, not {inputWidth}.", nameof(sample));
            for (int r = 0; r < count; r++)
                for (int i = 0; i < inputWidth; i++) values[r * inputWidth + i] = (float)(values[r * inputWidth + i] * prior[i]);
            input = values;
            rows = count;
        }
        var linears = roles.Select(role => new SmoothingLinear(role, LlamaTensorNames.Name(role, l), CurrentWeight(context, layer, role))).ToArray();
        foreach (var linear in linears)
            if (linear.Weight.Length % inputWidth != 0)
                throw new ArgumentException($"{linear.Name} has {linear.Weight.Length} values, not a multiple of its input width {inputWidth}.", nameof(context));
        return new SmoothingGroup(l, kind, width, channelOf, input, rows, inputWidth, inputMax, inputMean, linears);
    }

    /// <summary>The float weights of <paramref name="role"/> with the layer's planned transforms applied (what <see cref="TransformedWeights"/> will give).</summary>
    public static float[] CurrentWeight(PlanContext context, LayerTransform layer, TensorRole role)
    {
        float[] values = context.Read(role, layer.Layer);
        if (LayerTransformer.Roles(layer, context.Config).Contains(role)) LayerTransformer.Apply(role, values, layer, context.Config);
        return values;
    }

    /// <summary>Per scale channel j, the largest of <paramref name="perInput"/> over the input channels that read j.</summary>
    public double[] PerScaleMax(double[] perInput)
    {
        var result = new double[Width];
        for (int i = 0; i < InputWidth; i++) result[ChannelOf[i]] = Math.Max(result[ChannelOf[i]], perInput[i]);
        return result;
    }

    /// <summary>Per scale channel j, max |W[:, i]| over every linear of the group and every input channel i that reads j.</summary>
    public double[] WeightColumnMax()
    {
        var perInput = new double[InputWidth];
        foreach (var linear in Linears)
        {
            float[] w = linear.Weight;
            for (int offset = 0; offset < w.Length; offset += InputWidth)
                for (int i = 0; i < InputWidth; i++) perInput[i] = Math.Max(perInput[i], Math.Abs(w[offset + i]));
        }
        return PerScaleMax(perInput);
    }

    /// <summary>Multiplies the group's scales <paramref name="factors"/> into the layer transform (the exact fold of <see cref="Kind"/>).</summary>
    public void Fold(LayerTransform layer, double[] factors)
    {
        switch (Kind)
        {
            case SmoothingGroupKind.Qkv: layer.AttnColumns = ScaleMath.Compose(layer.AttnColumns, factors); break;
            case SmoothingGroupKind.GateUp: layer.FfnColumns = ScaleMath.Compose(layer.FfnColumns, factors); break;
            case SmoothingGroupKind.Down: layer.Y6 = ScaleMath.Compose(layer.Y6, factors); break;
            default: layer.ValueRows = ScaleMath.Compose(layer.ValueRows, factors); break;
        }
    }
}

/// <summary>One linear of a <see cref="SmoothingGroup"/>: its role, Hugging Face name and current float weights [out, in].</summary>
internal sealed record SmoothingLinear(TensorRole Role, string Name, float[] Weight);
