namespace Optimizer.Engine.Model;

/// <summary>
/// Where an observed activation comes from. Rows of the activation are tokens in batch-major order:
/// row <c>r</c> is sequence <c>r / SequenceLength</c>, position <c>r % SequenceLength</c>.
/// </summary>
public readonly struct ProbeContext
{
    /// <summary>Creates a context.</summary>
    public ProbeContext(int layer, ProbeSite site, int batchSize, int sequenceLength, ReadOnlyMemory<long> tokenIds, long firstTokenIndex)
    {
        Layer = layer;
        Site = site;
        BatchSize = batchSize;
        SequenceLength = sequenceLength;
        TokenIds = tokenIds;
        FirstTokenIndex = firstTokenIndex;
    }

    /// <summary>0-based decoder layer.</summary>
    public int Layer { get; }

    /// <summary>Operator position inside the layer.</summary>
    public ProbeSite Site { get; }

    /// <summary>Sequences in the batch (B).</summary>
    public int BatchSize { get; }

    /// <summary>Tokens per sequence (T).</summary>
    public int SequenceLength { get; }

    /// <summary>The batch's token ids, B*T of them, batch-major (same order as the activation rows).</summary>
    public ReadOnlyMemory<long> TokenIds { get; }

    /// <summary>Index of the batch's first token in the whole calibration stream.</summary>
    public long FirstTokenIndex { get; }

    /// <summary>Number of activation rows (B*T).</summary>
    public int Rows => BatchSize * SequenceLength;

    /// <summary>
    /// Checks that <paramref name="activation"/> is [<see cref="Rows"/>, C] as the probe contract promises and returns C.
    /// </summary>
    public int ChannelsOf(TorchSharp.torch.Tensor activation)
    {
        ArgumentNullException.ThrowIfNull(activation);
        if (activation.dim() != 2 || activation.shape[0] != Rows)
            throw new ArgumentException($"Expected an activation [{Rows}, C], got [{string.Join(", ", activation.shape)}].", nameof(activation));
        return checked((int)activation.shape[1]);
    }

    /// <summary>Global stream index of activation row <paramref name="row"/>.</summary>
    public long TokenIndex(int row) => FirstTokenIndex + row;

    /// <summary>Position inside its sequence of activation row <paramref name="row"/>.</summary>
    public int Position(int row) => row % SequenceLength;
}
