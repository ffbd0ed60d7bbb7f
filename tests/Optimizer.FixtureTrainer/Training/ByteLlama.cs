using TorchSharp;
using TorchSharp.Modules;
using Optimizer.Engine.Formats;
using static TorchSharp.torch;

namespace Optimizer.FixtureTrainer.Training;

/// <summary>
/// A Llama causal language model with tied input/output embeddings, built from <see cref="ModelConfig"/> with the
/// Hugging Face parameter layout: token ids [batch, time] in, logits [batch, time, vocab] out.
/// </summary>
internal sealed class ByteLlama : nn.Module<Tensor, Tensor>
{
    private readonly RotaryEmbedding _rope;
    public Embedding embed_tokens;
    public ModuleList<DecoderLayer> layers;
    public RmsNorm norm;

    public ByteLlama(ModelConfig config) : base("model")
    {
        if (!config.TieWordEmbeddings) throw new ArgumentException("The fixture trainer builds tied-embedding models only.");
        Config = config;
        _rope = new RotaryEmbedding(config.HeadDim, config.MaxPositionEmbeddings, config.RopeTheta);
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize);
        layers = new ModuleList<DecoderLayer>();
        for (int i = 0; i < config.NumHiddenLayers; i++) layers.Add(new DecoderLayer(i, config, _rope));
        norm = new RmsNorm("norm", config.HiddenSize, config.RmsNormEps);
        RegisterComponents();
    }

    public ModelConfig Config { get; }

    /// <summary>Sets (or clears) the activation observer on every layer.</summary>
    public void SetObserver(ActivationObserver? observer)
    {
        foreach (var layer in layers) layer.Observer = observer;
    }

    /// <summary>GPT-style initialization as in Hugging Face Llama: N(0, 0.02) for embeddings and linears, norms at 1.</summary>
    public void Initialize(double std = 0.02)
    {
        using var noGrad = no_grad();
        nn.init.normal_(embed_tokens.weight!, 0, std);
        foreach (var layer in layers)
        {
            foreach (var (_, linear) in layer.Linears()) nn.init.normal_(linear.weight!, 0, std);
        }
    }

    /// <summary>Every tensor under its Hugging Face name (lm_head omitted: tied to the embedding).</summary>
    public IEnumerable<(string Name, Tensor Value)> NamedWeights()
    {
        yield return (LlamaTensorNames.Name(TensorRole.TokenEmbedding), embed_tokens.weight!);
        yield return (LlamaTensorNames.Name(TensorRole.FinalNorm), norm.weight);
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            yield return (LlamaTensorNames.Name(TensorRole.AttnNorm, i), layer.input_layernorm.weight);
            yield return (LlamaTensorNames.Name(TensorRole.FfnNorm, i), layer.post_attention_layernorm.weight);
            foreach (var (suffix, linear) in layer.Linears()) yield return ($"model.layers.{i}.{suffix}.weight", linear.weight!);
        }
    }

    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var h = embed_tokens.forward(ids);
        foreach (var layer in layers) h = layer.forward(h);
        h = norm.forward(h);
        return nn.functional.linear(h, embed_tokens.weight!).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _rope.Dispose();
        base.Dispose(disposing);
    }
}
