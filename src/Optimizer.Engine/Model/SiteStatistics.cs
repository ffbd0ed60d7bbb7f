using TorchSharp;
using static TorchSharp.torch;

namespace Optimizer.Engine.Model;

/// <summary>
/// Streaming statistics of one (layer, site): never holds whole activations, only per-channel and per-token
/// reductions, the top-k entries and a |x| histogram. Per-token arrays are indexed by global token index; tokens that
/// were never observed read as NaN. Medians are lower medians (PyTorch's convention: for an even channel count, the
/// smaller of the two middle values).
/// </summary>
public sealed class SiteStatistics
{
    private readonly float[] _channelAbsMax;
    private readonly double[] _channelAbsSum;
    private readonly double[]? _channelSum;
    private readonly double[]? _channelSumSquares;
    private float[] _tokenAbsMax = Array.Empty<float>();
    private float[] _tokenMedianAbs = Array.Empty<float>();
    private readonly List<ActivationEntry> _top = new();

    private readonly bool _withMedians;

    internal SiteStatistics(int layer, ProbeSite site, int channels, int topK, bool withMedians, bool withMoments = false)
    {
        _withMedians = withMedians;
        Layer = layer;
        Site = site;
        Channels = channels;
        TopK = topK;
        _channelAbsMax = new float[channels];
        _channelAbsSum = new double[channels];
        if (withMoments)
        {
            _channelSum = new double[channels];
            _channelSumSquares = new double[channels];
        }
    }

    /// <summary>0-based decoder layer.</summary>
    public int Layer { get; }

    /// <summary>Operator position.</summary>
    public ProbeSite Site { get; }

    /// <summary>Stable id of <see cref="Site"/>.</summary>
    public string SiteId => ProbeSites.Id(Site);

    /// <summary>Channels (columns) of the activation.</summary>
    public int Channels { get; }

    /// <summary>How many top entries are kept.</summary>
    public int TopK { get; }

    /// <summary>Tokens (rows) observed.</summary>
    public long TokenCount { get; private set; }

    /// <summary>max |x| over everything observed (0 before any observation).</summary>
    public float MaxAbs { get; private set; }

    /// <summary>Per-channel max |x|.</summary>
    public ReadOnlySpan<float> ChannelAbsMax => _channelAbsMax;

    /// <summary>Per-channel mean |x| (summed in float64).</summary>
    public float[] ChannelMeanAbs()
    {
        var mean = new float[Channels];
        for (int j = 0; j < Channels; j++) mean[j] = TokenCount == 0 ? 0 : (float)(_channelAbsSum[j] / TokenCount);
        return mean;
    }

    /// <summary>
    /// Whether the per-channel sums of x and x² are kept (the site is in
    /// <see cref="ActivationStatisticsOptions.ChannelMomentSites"/>).
    /// </summary>
    public bool HasChannelMoments => _channelSumSquares is not null;

    /// <summary>Per-channel Σx over every observed token, summed in float64; empty without <see cref="HasChannelMoments"/>.</summary>
    public ReadOnlySpan<double> ChannelSum => _channelSum;

    /// <summary>Per-channel Σx² over every observed token, summed in float64; empty without <see cref="HasChannelMoments"/>.</summary>
    public ReadOnlySpan<double> ChannelSumSquares => _channelSumSquares;

    /// <summary>Per-token max |x| over channels, indexed by global token index (length = highest index seen + 1).</summary>
    public ReadOnlySpan<float> TokenAbsMax => _tokenAbsMax.AsSpan(0, TokenSlots);

    /// <summary>
    /// Per-token lower-median |x| over channels, indexed by global token index; NaN everywhere when the site is not in
    /// <see cref="ActivationStatisticsOptions.TokenMedianSites"/>.
    /// </summary>
    public ReadOnlySpan<float> TokenMedianAbs => _tokenMedianAbs.AsSpan(0, TokenSlots);

    /// <summary>Length of the per-token arrays (highest global token index observed + 1).</summary>
    public int TokenSlots { get; private set; }

    /// <summary>The largest-|x| entries, ordered by <see cref="ActivationEntry.CompareByMagnitude"/>.</summary>
    public IReadOnlyList<ActivationEntry> Top => _top;

    /// <summary>|x| histogram for quantiles.</summary>
    public LogHistogram Histogram { get; } = new();

    /// <summary>Quantile of |x| from <see cref="Histogram"/> (see its resolution).</summary>
    public double Quantile(double q) => Histogram.Quantile(q);

    /// <summary>
    /// Adds rows <paramref name="firstRow"/>… of one observation; <paramref name="rows"/> is a contiguous float32 [n, C]
    /// tensor in CPU memory (see <see cref="ActivationReduction"/>).
    /// </summary>
    internal unsafe void Add(in ProbeContext context, Tensor rows, int firstRow)
    {
        int n = checked((int)rows.shape[0]);
        long elements = (long)n * Channels;
        if (rows.dtype != ScalarType.Float32 || rows.device_type != TorchSharp.DeviceType.CPU || !rows.is_contiguous() || rows.numel() != elements)
            throw new ArgumentException("Statistics need contiguous float32 rows in CPU memory.", nameof(rows));
        fixed (byte* bytes = rows.bytes)
        {
            float* data = (float*)bytes;
            var perRow = ActivationReduction.Rows(data, n, Channels, _withMedians);
            var channelMax = new float[Channels];
            var channelSum = new double[Channels];
            double[]? momentSum = null, momentSquares = null;
            if (_channelSumSquares is null)
            {
                ActivationReduction.Channels(data, n, Channels, channelMax, channelSum);
            }
            else
            {
                momentSum = new double[Channels];
                momentSquares = new double[Channels];
                ActivationReduction.ChannelsWithMoments(data, n, Channels, channelMax, channelSum, momentSum, momentSquares);
            }
            var candidates = ActivationReduction.Top(data, n, Channels, perRow.FiniteMax, TopK);

            Histogram.AddBinCounts(perRow.BinCounts, elements - perRow.NearEdge.Count);
            Histogram.AddExact(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(perRow.NearEdge));
            for (int j = 0; j < Channels; j++)
            {
                if (channelMax[j] > _channelAbsMax[j] || float.IsNaN(channelMax[j])) _channelAbsMax[j] = channelMax[j];
                _channelAbsSum[j] += channelSum[j];
                if (momentSquares is not null)
                {
                    _channelSum![j] += momentSum![j];
                    _channelSumSquares![j] += momentSquares[j];
                }
                if (channelMax[j] > MaxAbs || float.IsNaN(channelMax[j])) MaxAbs = channelMax[j];
            }
            long firstIndex = context.TokenIndex(firstRow);
            EnsureTokenSlots(firstIndex + n);
            perRow.TokenMax.CopyTo(_tokenAbsMax, firstIndex);
            perRow.TokenMedian?.CopyTo(_tokenMedianAbs, firstIndex);
            _top.AddRange(ChunkTop(context, rows, firstRow, candidates));
        }
        _top.Sort(ActivationEntry.CompareByMagnitude);
        if (_top.Count > TopK) _top.RemoveRange(TopK, _top.Count - TopK);
        TokenCount += n;
    }

    /// <summary>
    /// The block's top entries. Without a tie at the k-th magnitude they are the exact top k and agree with the torch
    /// selection used before; with one, torch's choice among the tied entries is kept (its two-stage topk), so results
    /// stay identical to earlier versions of this class.
    /// </summary>
    private List<ActivationEntry> ChunkTop(in ProbeContext context, Tensor rows, int firstRow, ActivationReduction.TopCandidates candidates)
    {
        ReadOnlySpan<long> tokenIds = context.TokenIds.Span;
        var entries = new List<ActivationEntry>(candidates.Entries.Count);
        foreach (var (r, channel, value) in candidates.Entries)
        {
            int row = firstRow + r;
            entries.Add(new ActivationEntry(Layer, Site, context.TokenIndex(row), context.Position(row), tokenIds[row], channel, value));
        }
        entries.Sort(ActivationEntry.CompareByMagnitude);
        if (entries.Count < TopK) return entries;
        float kth = entries[TopK - 1].Magnitude;
        long atLeastKth = 0;
        foreach (var e in entries) if (e.Magnitude >= kth && e.Magnitude != candidates.Threshold) atLeastKth++;
        if (kth == candidates.Threshold) atLeastKth += candidates.TiesAtThreshold;
        if (atLeastKth <= TopK) return entries.GetRange(0, TopK);
        return TorchTop(context, rows, firstRow);
    }

    /// <summary>Exact top-k in torch in two stages: the k largest entries lie in the k rows with the largest row maxima.</summary>
    private List<ActivationEntry> TorchTop(in ProbeContext context, Tensor rows, int firstRow)
    {
        using var scope = NewDisposeScope();
        long n = rows.shape[0];
        Tensor abs = rows.abs();
        Tensor candidateRows = abs.amax(new long[] { 1 }).topk((int)Math.Min(TopK, n)).indexes;
        Tensor candidates = abs.index_select(0, candidateRows);
        var (_, flatIndex) = candidates.view(-1).topk((int)Math.Min(TopK, candidates.numel()));
        using Scalar channels = Channels.ToScalar(); // explicit and disposed: never left to the finalizer thread
        Tensor rowIndex = candidateRows.index_select(0, flatIndex.div(channels, rounding_mode: RoundingMode.floor));
        Tensor channelIndex = flatIndex.remainder(channels);
        long[] topRows = rowIndex.data<long>().ToArray();
        long[] topChannels = channelIndex.data<long>().ToArray();
        float[] signed = rows.index_select(0, rowIndex).gather(1, channelIndex.unsqueeze(1)).squeeze(1).contiguous().data<float>().ToArray();
        ReadOnlySpan<long> tokenIds = context.TokenIds.Span;
        var entries = new List<ActivationEntry>(topRows.Length);
        for (int i = 0; i < topRows.Length; i++)
        {
            int row = firstRow + (int)topRows[i];
            entries.Add(new ActivationEntry(Layer, Site, context.TokenIndex(row), context.Position(row), tokenIds[row], (int)topChannels[i], signed[i]));
        }
        return entries;
    }

    private void EnsureTokenSlots(long needed)
    {
        if (needed > Array.MaxLength) throw new InvalidOperationException($"Token index {needed - 1} is beyond the per-token arrays' limit.");
        if (needed > _tokenAbsMax.Length)
        {
            int capacity = (int)Math.Min(Array.MaxLength, Math.Max(needed, Math.Max(1024, 2L * _tokenAbsMax.Length)));
            Grow(ref _tokenAbsMax, capacity);
            Grow(ref _tokenMedianAbs, capacity);
        }
        TokenSlots = (int)Math.Max(TokenSlots, needed);
    }

    private static void Grow(ref float[] array, int capacity)
    {
        var grown = new float[capacity];
        array.CopyTo(grown, 0);
        grown.AsSpan(array.Length).Fill(float.NaN);
        array = grown;
    }
}
