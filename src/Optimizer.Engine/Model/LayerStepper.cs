using Optimizer.Engine.Formats;
using static TorchSharp.torch;

namespace Optimizer.Engine.Model;

/// <summary>
/// Runs a fixed set of token sequences through the decoder one layer at a time, keeping every batch's residual stream
/// between calls, so that each layer can read its weights from a different source (layer-by-layer quantization:
/// layer ℓ's inputs come from the already-quantized layers before it; docs/quantization.md "Error-compensating
/// rounding"). Holds the embedded tokens and one residual stream per batch ([B, T, C] float32); nothing else.
/// </summary>
internal sealed class LayerStepper : IDisposable
{
    private readonly ModelConfig _config;
    private readonly Device _device;
    private readonly List<(Tensor Ids, long[] Flat, int Batch, int Length)> _batches = new();
    private readonly List<Tensor> _hidden = new();
    private bool _disposed;

    private LayerStepper(ModelConfig config, Device device)
    {
        _config = config;
        _device = device;
    }

    /// <summary>The next layer <see cref="Run"/> may advance to (0 after <see cref="Start"/>).</summary>
    public int NextLayer { get; private set; }

    /// <summary>
    /// Embeds <paramref name="sequences"/> (batches of <paramref name="batchSize"/> consecutive sequences of equal length)
    /// with the token embedding of <paramref name="weights"/>.
    /// </summary>
    public static LayerStepper Start(ModelConfig config, ITensorSource weights, IReadOnlyList<int[]> sequences, int batchSize, Device device)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var stepper = new LayerStepper(config, device);
        try
        {
            using var noGrad = no_grad();
            using Tensor embedding = WeightLoader.LoadFloat32(weights, config, TensorRole.TokenEmbedding, 0, device);
            for (int start = 0; start < sequences.Count;)
            {
                int length = sequences[start].Length;
                int count = 1;
                while (count < batchSize && start + count < sequences.Count && sequences[start + count].Length == length) count++;
                var batch = new int[count][];
                for (int i = 0; i < count; i++) batch[i] = sequences[start + i];
                Tensor ids = TokenBatch.ToTensor(batch);
                long[] flat = TokenBatch.Validate(ids, config.VocabSize, out int b, out int t);
                stepper._batches.Add((ids, flat, b, t));
                using Tensor onDevice = ids.to(ScalarType.Int64, device);
                using Tensor flatIds = onDevice.reshape(-1);
                using Tensor rows = embedding.index_select(0, flatIds);
                using Tensor scaled = config.IsGemma ? GemmaDecoderLayer.ScaleEmbedding(rows, config) : rows.alias();
                stepper._hidden.Add(scaled.view(b, t, config.HiddenSize).contiguous());
                start += count;
            }
            return stepper;
        }
        catch
        {
            stepper.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs layer <see cref="NextLayer"/> over every batch with that layer's weights from <paramref name="weights"/>,
    /// showing its activations to <paramref name="probe"/>. With <paramref name="advance"/> the layer's outputs become the
    /// kept residual streams and <see cref="NextLayer"/> moves on; otherwise they are discarded (an observing pass).
    /// </summary>
    public void Run(ITensorSource weights, IActivationProbe? probe, bool advance, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(weights);
        int layer = NextLayer;
        if (layer >= _config.NumHiddenLayers) throw new InvalidOperationException("Every layer has been run.");
        using var noGrad = no_grad();
        using LayerWeights layerWeights = LayerWeights.Load(weights, _config, layer, _device);
        long firstToken = 0;
        for (int i = 0; i < _batches.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var (_, flat, batch, length) = _batches[i];
            Tensor next;
            using (var scope = NewDisposeScope())
            {
                var probes = new ProbeDispatch(probe, layer, batch, length, flat, firstToken);
                if (_config.IsGemma)
                {
                    using var tables = new GemmaForwardTables(_config, length, _device);
                    next = GemmaDecoderLayer.Forward(_hidden[i], layerWeights, tables, probes, null).MoveToOuterDisposeScope();
                }
                else
                {
                    using var rope = RotaryEmbedding.For(_config, length, _device);
                    using Tensor y1 = AttentionBlock.Forward(_hidden[i], layerWeights, _config, rope, probes, null);
                    next = FeedForwardBlock.Forward(y1, layerWeights, _config, probes, null).MoveToOuterDisposeScope();
                }
            }
            firstToken += (long)batch * length;
            if (advance)
            {
                _hidden[i].Dispose();
                _hidden[i] = next;
            }
            else
            {
                next.Dispose();
            }
        }
        if (advance) NextLayer++;
    }

    /// <summary>Tokens in all batches together.</summary>
    public long TokenCount => _batches.Sum(b => (long)b.Batch * b.Length);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var (ids, _, _, _) in _batches) ids.Dispose();
        foreach (Tensor h in _hidden) h.Dispose();
        _batches.Clear();
        _hidden.Clear();
    }
}
