using Optimizer.Engine.Formats;
using static TorchSharp.torch;

namespace Optimizer.Engine.Model;

/// <summary>One decoder layer's weights as float32 tensors on the model device (HF layout: linears are [out, in]).</summary>
internal sealed class LayerWeights : IDisposable
{
    private readonly List<Tensor> _owned = new();

    private LayerWeights(int layer) => Layer = layer;

    public int Layer { get; }
    public Tensor AttnNorm { get; private set; } = null!;
    public Tensor Q { get; private set; } = null!;
    public Tensor K { get; private set; } = null!;
    public Tensor V { get; private set; } = null!;
    public Tensor O { get; private set; } = null!;
    public Tensor? QBias { get; private set; }
    public Tensor? KBias { get; private set; }
    public Tensor? VBias { get; private set; }
    public Tensor? OBias { get; private set; }
    public Tensor? QNorm { get; private set; }
    public Tensor? KNorm { get; private set; }
    public Tensor FfnNorm { get; private set; } = null!;
    public Tensor Gate { get; private set; } = null!;
    public Tensor Up { get; private set; } = null!;
    public Tensor Down { get; private set; } = null!;
    /// <summary>Gemma's post-attention and post-FFN norm multipliers (1 + γ); null for other families.</summary>
    public Tensor? PostAttnNorm { get; private set; }
    public Tensor? PostFfnNorm { get; private set; }

    /// <summary>Reads layer <paramref name="layer"/> from <paramref name="source"/>.</summary>
    public static LayerWeights Load(ITensorSource source, ModelConfig config, int layer, Device device)
    {
        var w = new LayerWeights(layer);
        try
        {
            w.AttnNorm = w.Read(source, config, TensorRole.AttnNorm, device);
            w.Q = w.Read(source, config, TensorRole.Q, device);
            w.K = w.Read(source, config, TensorRole.K, device);
            w.V = w.Read(source, config, TensorRole.V, device);
            w.O = w.Read(source, config, TensorRole.O, device);
            if (config.HasQkvBias)
            {
                w.QBias = w.Read(source, config, TensorRole.QBias, device);
                w.KBias = w.Read(source, config, TensorRole.KBias, device);
                w.VBias = w.Read(source, config, TensorRole.VBias, device);
            }
            if (config.HasOutputBias) w.OBias = w.Read(source, config, TensorRole.OBias, device);
            if (config.HasQkNorm)
            {
                w.QNorm = w.Read(source, config, TensorRole.QNorm, device);
                w.KNorm = w.Read(source, config, TensorRole.KNorm, device);
            }
            w.FfnNorm = w.Read(source, config, TensorRole.FfnNorm, device);
            w.Gate = w.Read(source, config, TensorRole.Gate, device);
            w.Up = w.Read(source, config, TensorRole.Up, device);
            w.Down = w.Read(source, config, TensorRole.Down, device);
            if (config.IsGemma) w.LoadGemmaNorms(source, config, device);
            return w;
        }
        catch
        {
            w.Dispose();
            throw;
        }
    }

    /// <summary>Gemma: the extra norms, and every norm weight γ replaced by its multiplier 1 + γ (docs/model-families.md, "Gemma 2 and Gemma 3 text").</summary>
    private void LoadGemmaNorms(ITensorSource source, ModelConfig config, Device device)
    {
        AttnNorm = Multiplier(config, AttnNorm);
        FfnNorm = Multiplier(config, FfnNorm);
        PostAttnNorm = Multiplier(config, Read(source, config, TensorRole.PostAttnNorm, device));
        PostFfnNorm = Multiplier(config, Read(source, config, TensorRole.PostFfnNorm, device));
        if (QNorm is not null && KNorm is not null)
        {
            // Loaded with the other layer weights (HasQkNorm); Gemma multiplies by 1 + γ here too.
            QNorm = Multiplier(config, QNorm);
            KNorm = Multiplier(config, KNorm);
        }
    }

    /// <summary>Replaces the owned norm weight <paramref name="gamma"/> by 1 + γ (the old tensor is freed).</summary>
    private Tensor Multiplier(ModelConfig config, Tensor gamma)
    {
        int index = _owned.IndexOf(gamma);
        Tensor scale = NormScale.ToMultiplier(config, gamma);
        _owned[index] = scale;
        return scale;
    }

    private Tensor Read(ITensorSource source, ModelConfig config, TensorRole role, Device device)
    {
        Tensor t = WeightLoader.LoadFloat32(source, config, role, Layer, device);
        _owned.Add(t);
        return t;
    }

    /// <summary>Frees every tensor of the layer.</summary>
    public void Dispose()
    {
        foreach (var t in _owned) t.Dispose();
        _owned.Clear();
    }
}
