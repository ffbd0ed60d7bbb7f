using Optimizer.Engine.Model;
using static TorchSharp.torch;

namespace Optimizer.Engine.Evaluation;

/// <summary>
/// The calibrated range <c>max|x|</c> of every linear input of every decoder layer, for per-tensor static activation
/// quantization (<see cref="ActivationQuantMode.PerTensorStatic"/>): the input sites are <c>attn.y2</c> (q/k/v_proj),
/// <c>attn.out</c> (o_proj), <c>y2</c> (gate/up_proj) and <c>y6</c> (down_proj). The scale for b bits is
/// <c>max|x| / (2^(b−1) − 1)</c>, so the calibrated maximum maps to the largest code and anything larger is clamped.
/// Immutable.
/// </summary>
public sealed class StaticActivationScales
{
    private static readonly ProbeSite[] InputSites = { ProbeSite.AttnY2, ProbeSite.AttnOut, ProbeSite.Y2, ProbeSite.Y6 };

    private readonly float[] _maxAbs; // [layer * InputSites.Length + slot]

    private StaticActivationScales(int layers, float[] maxAbs)
    {
        Layers = layers;
        _maxAbs = maxAbs;
    }

    /// <summary>The linear-input sites, in forward order: attn.y2, attn.out, y2, y6.</summary>
    public static IReadOnlyList<ProbeSite> Sites => InputSites;

    /// <summary>Decoder layers covered.</summary>
    public int Layers { get; }

    /// <summary>The calibrated <c>max|x|</c> of <paramref name="site"/> (one of <see cref="Sites"/>) in <paramref name="layer"/>.</summary>
    public float MaxAbs(int layer, ProbeSite site) => _maxAbs[Index(layer, site)];

    /// <summary>The quantization step for <paramref name="bits"/>-bit codes: <c>MaxAbs / (2^(bits−1) − 1)</c>.</summary>
    public double Scale(int layer, ProbeSite site, int bits)
    {
        if (bits is < 2 or > 16) throw new ArgumentOutOfRangeException(nameof(bits), bits, "Bits must be between 2 and 16.");
        return MaxAbs(layer, site) / (double)((1 << (bits - 1)) - 1);
    }

    /// <summary>
    /// Scales from given ranges (e.g. read back from a file or chosen by a test): <paramref name="maxAbs"/> is asked for
    /// every layer and input site and must be finite and non-negative (<see cref="ErrorCodes.ActivationQuantizationInvalid"/>).
    /// </summary>
    public static StaticActivationScales FromMaxAbs(int layers, Func<int, ProbeSite, float> maxAbs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layers);
        ArgumentNullException.ThrowIfNull(maxAbs);
        var values = new float[layers * InputSites.Length];
        for (int layer = 0; layer < layers; layer++)
        {
            for (int slot = 0; slot < InputSites.Length; slot++)
            {
                float value = maxAbs(layer, InputSites[slot]);
                if (!float.IsFinite(value) || value < 0)
                    throw new OptimizerException(ErrorCodes.ActivationQuantizationInvalid,
                        $"The range of {ProbeSites.Id(InputSites[slot])} in layer {layer} is {value}; it must be finite and non-negative.");
                values[layer * InputSites.Length + slot] = value;
            }
        }
        return new StaticActivationScales(layers, values);
    }

    /// <summary>
    /// Runs <paramref name="sequences"/> through <paramref name="model"/> (consecutive sequences of equal length batched
    /// up to <paramref name="batchSize"/>) and records the largest <c>|x|</c> at every linear input. The activations are
    /// those the model feeds its linears before any activation quantization of its own. Deterministic. A non-finite
    /// activation fails with <see cref="ErrorCodes.ActivationQuantizationInvalid"/>.
    /// </summary>
    public static StaticActivationScales Calibrate(LlamaModel model, IReadOnlyList<int[]> sequences, int batchSize = 8,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (sequences.Count == 0) throw new ArgumentException("Calibration needs at least one sequence.", nameof(sequences));
        var probe = new RangeProbe(model.Config.NumHiddenLayers);
        long firstToken = 0;
        for (int done = 0; done < sequences.Count;)
        {
            ct.ThrowIfCancellationRequested();
            int length = sequences[done]?.Length ?? throw new ArgumentException("A calibration sequence is null.", nameof(sequences));
            int take = 1;
            while (take < batchSize && done + take < sequences.Count && sequences[done + take]?.Length == length) take++;
            var batch = new int[take][];
            for (int i = 0; i < take; i++) batch[i] = sequences[done + i];
            using (model.Forward(batch, probe, firstToken, ct)) { }
            firstToken += (long)take * length;
            done += take;
        }
        return FromMaxAbs(model.Config.NumHiddenLayers, (layer, site) => probe.Max[layer * InputSites.Length + Slot(site)]);
    }

    private int Index(int layer, ProbeSite site)
    {
        if ((uint)layer >= (uint)Layers) throw new ArgumentOutOfRangeException(nameof(layer), layer, $"The scales cover layers 0 to {Layers - 1}.");
        return layer * InputSites.Length + Slot(site);
    }

    private static int Slot(ProbeSite site)
    {
        int slot = Array.IndexOf(InputSites, site);
        if (slot < 0) throw new ArgumentException($"{ProbeSites.Id(site)} is not the input of a linear layer.", nameof(site));
        return slot;
    }

    /// <summary>Keeps the running <c>max|x|</c> per layer and input site (NaN sticks, so it is reported).</summary>
    private sealed class RangeProbe : IActivationProbe
    {
        public RangeProbe(int layers) => Max = new float[layers * InputSites.Length];

        public float[] Max { get; }

        public bool Wants(int layer, ProbeSite site) => Array.IndexOf(InputSites, site) >= 0;

        public void Observe(in ProbeContext context, Tensor activation)
        {
            context.ChannelsOf(activation);
            using Tensor abs = activation.abs();
            using Tensor max = abs.max();
            float value = max.item<float>();
            int index = context.Layer * InputSites.Length + Slot(context.Site);
            float current = Max[index];
            if (float.IsNaN(current)) return;
            if (float.IsNaN(value) || value > current) Max[index] = value;
        }
    }
}
