using Optimizer.Engine.Formats;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Optimizer.Engine.Model;

/// <summary>
/// Inference-only Llama-family decoder (llama, mistral, qwen2) in TorchSharp: GQA, RoPE (HF rotate_half, rope_theta),
/// RMSNorm in float32, SwiGLU, q/k/v biases, o_proj bias, tied embeddings, causal mask. All compute is float32 without
/// autograd. The batch runs one decoder layer at a time (hidden states [B, T, C] carried between layers), each layer in
/// its own dispose scope; only logits and what probes copy out escape. The tensor source must stay open while the
/// model is used (with <see cref="ModelOptions.StreamLayers"/> layers are read from it on every forward); the model
/// does not dispose it. Not thread-safe: run one forward at a time.
/// </summary>
public sealed class LlamaModel : IDisposable
{
    private const long NllChunkElements = 1L << 25;

    private readonly ITensorSource _source;
    private readonly Tensor _embedding;
    private readonly Tensor _finalNorm;
    private readonly Tensor _head;
    private readonly LayerWeights[]? _resident;
    private bool _disposed;

    private LlamaModel(ModelConfig config, ITensorSource source, ModelOptions options, Device device,
        Tensor embedding, Tensor finalNorm, Tensor head, LayerWeights[]? resident)
    {
        Config = config;
        Options = options;
        TorchDevice = device;
        _source = source;
        _embedding = embedding;
        _finalNorm = finalNorm;
        _head = head;
        _resident = resident;
    }

    /// <summary>The model's configuration.</summary>
    public ModelConfig Config { get; }

    /// <summary>The options the model was created with.</summary>
    public ModelOptions Options { get; }

    /// <summary>The device the forward runs on.</summary>
    public Device TorchDevice { get; }

    /// <summary>The resolved device name, e.g. <c>cpu</c> or <c>cuda:0</c>.</summary>
    public string DeviceName => TorchDevice.ToString();

    /// <summary>
    /// Builds the model: validates the config and that every tensor it needs is present with the expected shape and a
    /// float dtype, then loads the model-level tensors (and all layers unless <see cref="ModelOptions.StreamLayers"/>).
    /// </summary>
    public static LlamaModel Create(ModelConfig config, ITensorSource weights, ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(options);
        config.Validate("config.json");
        options.ActivationQuantization?.Validate(config.NumHiddenLayers);
        Device device = DeviceSelector.Resolve(options.Device);
        WeightLoader.ValidateAll(weights, config);

        var owned = new List<IDisposable>();
        try
        {
            using var noGrad = no_grad();
            Tensor embedding = Track(owned, WeightLoader.LoadFloat32(weights, config, TensorRole.TokenEmbedding, 0, device));
            Tensor finalNorm = Track(owned, NormScale.ToMultiplier(config, WeightLoader.LoadFloat32(weights, config, TensorRole.FinalNorm, 0, device)));
            Tensor head = config.TieWordEmbeddings
                ? embedding
                : Track(owned, WeightLoader.LoadFloat32(weights, config, TensorRole.OutputHead, 0, device));
            LayerWeights[]? resident = null;
            if (!options.StreamLayers)
            {
                resident = new LayerWeights[config.NumHiddenLayers];
                for (int i = 0; i < resident.Length; i++) resident[i] = Track(owned, LayerWeights.Load(weights, config, i, device));
            }
            return new LlamaModel(config, weights, options, device, embedding, finalNorm, head, resident);
        }
        catch
        {
            foreach (var d in owned) d.Dispose();
            throw;
        }
    }

    /// <summary>Forward pass; see <see cref="Forward(Tensor, IActivationProbe?, long, CancellationToken)"/> (stream index 0).</summary>
    public Tensor Forward(Tensor inputIds, IActivationProbe? probe = null, CancellationToken ct = default)
        => Forward(inputIds, probe, 0, ct);

    /// <summary>
    /// Runs <paramref name="inputIds"/> ([B, T] int64, any device) through the model and returns float32 logits
    /// [B, T, V] on the CPU (the caller disposes them). <paramref name="firstTokenIndex"/> is the index of the batch's
    /// first token in the whole calibration stream, passed to the probe. Cancellation is checked between layers.
    /// </summary>
    public Tensor Forward(Tensor inputIds, IActivationProbe? probe, long firstTokenIndex, CancellationToken ct = default)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor hidden = Hidden(inputIds, probe, firstTokenIndex, ct);
        Tensor logits = HeadLogits(hidden);
        return TensorMoves.MoveTo(logits, ScalarType.Float32, CPU).MoveToOuterDisposeScope();
    }

    /// <summary>Forward pass over equal-length token sequences; returns float32 logits [B, T, V] on the CPU.</summary>
    public Tensor Forward(IReadOnlyList<int[]> batch, IActivationProbe? probe = null, long firstTokenIndex = 0, CancellationToken ct = default)
    {
        using Tensor ids = TokenBatch.ToTensor(batch);
        return Forward(ids, probe, firstTokenIndex, ct);
    }

    /// <summary>
    /// Next-token negative log-likelihoods in nats: float32 [B, T−1] on the CPU where element [b, t] is
    /// <c>−log p(ids[b, t+1] | ids[b, 0..t])</c>. Log-softmax runs in float32 over position chunks, so the full
    /// [B, T, V] logits never exist at once.
    /// </summary>
    public Tensor TokenNll(Tensor inputIds, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        if (inputIds.dim() == 2 && inputIds.shape[1] < 2)
            throw new ArgumentException("At least two tokens per sequence are needed to score next tokens.", nameof(inputIds));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor hidden = Hidden(inputIds, null, 0, ct);
        long batch = hidden.shape[0], length = hidden.shape[1];
        Tensor targets = inputIds.to(ScalarType.Int64, TorchDevice).narrow(1, 1, length - 1);
        long chunk = Math.Max(1, NllChunkElements / (batch * Config.VocabSize));
        var parts = new List<Tensor>();
        for (long start = 0; start < length - 1; start += chunk)
        {
            ct.ThrowIfCancellationRequested();
            long count = Math.Min(chunk, length - 1 - start);
            using var step = NewDisposeScope();
            Tensor logProbs = HeadLogits(hidden.narrow(1, start, count)).log_softmax(-1);
            Tensor picked = logProbs.gather(-1, targets.narrow(1, start, count).unsqueeze(-1)).squeeze(-1).neg();
            parts.Add(picked.MoveToOuterDisposeScope());
        }
        Tensor nll = parts.Count == 1 ? parts[0] : cat(parts, 1);
        return TensorMoves.MoveTo(nll, ScalarType.Float32, CPU).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The final-norm hidden states [B, T, C] float32 on the model's device, in the caller's dispose scope (for callers
    /// that apply the head in chunks with <see cref="HeadLogits"/>). Runs without autograd.
    /// </summary>
    internal Tensor FinalHidden(Tensor inputIds, CancellationToken ct)
    {
        using var noGrad = no_grad();
        return Hidden(inputIds, null, 0, ct);
    }

    /// <summary>Logits of hidden states [..., C] (as from <see cref="FinalHidden"/>), on the model's device.</summary>
    internal Tensor HeadLogits(Tensor hidden)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var noGrad = no_grad();
        Tensor logits = F.linear(hidden, _head);
        if (!Config.IsGemma || Config.FinalLogitSoftcapping is null) return logits;
        using (logits) return GemmaDecoderLayer.SoftCap(logits, Config.FinalLogitSoftcapping);
    }

    /// <summary>Embedding, every decoder layer and the final norm: [B, T, C] float32 on the device (in the caller's scope).</summary>
    private Tensor Hidden(Tensor inputIds, IActivationProbe? probe, long firstTokenIndex, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(firstTokenIndex);
        ct.ThrowIfCancellationRequested();
        long[] ids = TokenBatch.Validate(inputIds, Config.VocabSize, out int batch, out int length);
        Tensor idsOnDevice = inputIds.to(ScalarType.Int64, TorchDevice);
        Tensor hidden = _embedding.index_select(0, idsOnDevice.reshape(-1)).view(batch, length, Config.HiddenSize);
        if (Config.IsGemma) hidden = GemmaDecoderLayer.ScaleEmbedding(hidden, Config);
        using var gemma = Config.IsGemma ? new GemmaForwardTables(Config, length, TorchDevice) : null;
        using var rope = gemma is null ? RotaryEmbedding.For(Config, length, TorchDevice) : null;
        var quantization = Options.ActivationQuantization;
        for (int layer = 0; layer < Config.NumHiddenLayers; layer++)
        {
            ct.ThrowIfCancellationRequested();
            Tensor next;
            using (var step = NewDisposeScope())
            {
                LayerWeights weights = _resident?[layer] ?? LayerWeights.Load(_source, Config, layer, TorchDevice);
                try
                {
                    var probes = new ProbeDispatch(probe, layer, batch, length, ids, firstTokenIndex);
                    if (gemma is not null)
                    {
                        next = GemmaDecoderLayer.Forward(hidden, weights, gemma, probes, quantization).MoveToOuterDisposeScope();
                    }
                    else
                    {
                        using Tensor y1 = AttentionBlock.Forward(hidden, weights, Config, rope!, probes, quantization);
                        next = FeedForwardBlock.Forward(y1, weights, Config, probes, quantization).MoveToOuterDisposeScope();
                    }
                }
                finally
                {
                    if (_resident is null) weights.Dispose();
                }
            }
            hidden.Dispose();
            hidden = next;
        }
        ct.ThrowIfCancellationRequested();
        Tensor normalized = RmsNorm.Normalize(hidden, Config.RmsNormEps);
        return RmsNorm.Scale(normalized, _finalNorm);
    }

    /// <summary>Frees every resident tensor.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_resident is not null) foreach (var layer in _resident) layer.Dispose();
        if (!ReferenceEquals(_head, _embedding)) _head.Dispose();
        _embedding.Dispose();
        _finalNorm.Dispose();
    }

    private static T Track<T>(List<IDisposable> owned, T item) where T : IDisposable
    {
        owned.Add(item);
        return item;
    }
}
