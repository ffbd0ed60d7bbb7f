using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Model;

/// <summary>
/// The per-observation reductions of <see cref="SiteStatistics"/> over a float32 [n, C] row-major block in CPU memory:
/// one pass over rows (per-token max and lower median, |x| histogram) and one over channel stripes (per-channel max and
/// float64 sum), both parallel over fixed partitions merged in a fixed order, so results do not depend on the number of
/// threads. Medians are a two-level selection: rows are bucketed by histogram bin (monotone in |x|), then only the
/// bucket holding the median is searched. NaN follows torch: it propagates through maxima and sums, counts in the
/// overflow bin, and sorts above every number in a median.
/// </summary>
internal static unsafe class ActivationReduction
{
    /// <summary>Below this many elements a block is reduced on the calling thread.</summary>
    private const long ParallelThreshold = 1L << 15;

    /// <summary>Elements per row block or channel stripe handed to one worker.</summary>
    private const int PartitionElements = 1 << 14;

    /// <summary>Per-token results and the histogram of one block.</summary>
    internal sealed class RowResults(int rows)
    {
        public float[] TokenMax { get; } = new float[rows];
        public float[] FiniteMax { get; } = new float[rows];
        public float[]? TokenMedian { get; set; }
        public long[] BinCounts { get; } = new long[LogHistogram.BinCount];
        public List<float> NearEdge { get; } = new();
    }

    /// <summary>Row pass: per-token max |x| (NaN if any), max over non-NaN |x|, lower median |x| (optional) and the histogram.</summary>
    public static RowResults Rows(float* data, int rows, int channels, bool medians)
    {
        var result = new RowResults(rows) { TokenMedian = medians ? new float[rows] : null };
        int rowsPerPart = Math.Max(1, PartitionElements / channels);
        int parts = (rows + rowsPerPart - 1) / rowsPerPart;
        var gate = new object();
        var address = (IntPtr)data;
        void Body(int part, RowScratch scratch)
        {
            int end = Math.Min(rows, (part + 1) * rowsPerPart);
            for (int r = part * rowsPerPart; r < end; r++) ReduceRow((float*)address + (long)r * channels, channels, r, result, scratch);
        }
        void Merge(RowScratch scratch)
        {
            lock (gate)
            {
                for (int b = 0; b < LogHistogram.BinCount; b++) result.BinCounts[b] += scratch.Counts[b];
                result.NearEdge.AddRange(scratch.NearEdge);
            }
        }
        if ((long)rows * channels < ParallelThreshold || parts == 1)
        {
            var scratch = new RowScratch(channels);
            for (int part = 0; part < parts; part++) Body(part, scratch);
            Merge(scratch);
        }
        else
        {
            Parallel.For(0, parts, () => new RowScratch(channels), (part, _, scratch) => { Body(part, scratch); return scratch; }, Merge);
        }
        return result;
    }

    /// <summary>Channel pass: per-channel max |x| (NaN if any) and float64 sum of |x| over all rows, in row order.</summary>
    public static void Channels(float* data, int rows, int channels, float[] channelMax, double[] channelSum)
        => ChannelPass<WithoutMoments>(data, rows, channels, channelMax, channelSum, null, null);

    /// <summary>
    /// The channel pass of <see cref="Channels"/> plus, in the same sweep over the data, the per-channel float64 sums of
    /// x and of x² (llama.cpp's imatrix <c>in_sum</c> / <c>in_sum2</c>), over all rows in row order. x² of a float is
    /// exact in float64, so only the additions round.
    /// </summary>
    public static void ChannelsWithMoments(float* data, int rows, int channels, float[] channelMax, double[] channelSum,
        double[] sum, double[] sumSquares)
        => ChannelPass<WithMoments>(data, rows, channels, channelMax, channelSum, sum, sumSquares);

    /// <summary>Compile-time switch of <see cref="ChannelPass{TMoments}"/>: the JIT drops the moment code when it is off.</summary>
    private interface IMomentSwitch;

    private struct WithMoments : IMomentSwitch;

    private struct WithoutMoments : IMomentSwitch;

    private static void ChannelPass<TMoments>(float* data, int rows, int channels, float[] channelMax, double[] channelSum,
        double[]? momentSum, double[]? momentSquares) where TMoments : struct, IMomentSwitch
    {
        int stripe = Math.Max(16, Math.Min(channels, PartitionElements / Math.Max(1, rows)));
        int parts = (channels + stripe - 1) / stripe;
        var address = (IntPtr)data;
        void Body(int part)
        {
            int first = part * stripe, end = Math.Min(channels, first + stripe);
            float* p = (float*)address;
            fixed (float* maxes = channelMax)
            fixed (double* sums = channelSum)
            fixed (double* xs = momentSum)
            fixed (double* x2s = momentSquares)
            {
                for (int j = first; j < end; j++)
                {
                    maxes[j] = 0;
                    sums[j] = 0;
                    if (typeof(TMoments) == typeof(WithMoments)) { xs[j] = 0; x2s[j] = 0; }
                }
                for (int r = 0; r < rows; r++)
                {
                    float* row = p + (long)r * channels;
                    int j = first;
                    for (; j + Vector256<float>.Count <= end; j += Vector256<float>.Count)
                    {
                        // Same per-channel operations and order as the scalar tail: NaN sticks, sums run in row order.
                        Vector256<float> x = Vector256.Load(row + j);
                        Vector256<float> a = Vector256.Abs(x);
                        Vector256<float> m = Vector256.Load(maxes + j);
                        Vector256.ConditionalSelect(Vector256.GreaterThan(a, m) | ~Vector256.Equals(a, a), a, m).Store(maxes + j);
                        var (lower, upper) = Vector256.Widen(a);
                        (Vector256.Load(sums + j) + lower).Store(sums + j);
                        (Vector256.Load(sums + j + 4) + upper).Store(sums + j + 4);
                        if (typeof(TMoments) == typeof(WithMoments))
                        {
                            var (xl, xu) = Vector256.Widen(x);
                            (Vector256.Load(xs + j) + xl).Store(xs + j);
                            (Vector256.Load(xs + j + 4) + xu).Store(xs + j + 4);
                            (Vector256.Load(x2s + j) + xl * xl).Store(x2s + j);
                            (Vector256.Load(x2s + j + 4) + xu * xu).Store(x2s + j + 4);
                        }
                    }
                    for (; j < end; j++)
                    {
                        float a = MathF.Abs(row[j]);
                        if (a > maxes[j] || float.IsNaN(a)) maxes[j] = a;   // NaN sticks: nothing compares above it
                        sums[j] += a;
                        if (typeof(TMoments) == typeof(WithMoments))
                        {
                            double x = row[j];
                            xs[j] += x;
                            x2s[j] += x * x;
                        }
                    }
                }
            }
        }
        if ((long)rows * channels < ParallelThreshold || parts == 1)
        {
            for (int part = 0; part < parts; part++) Body(part);
        }
        else
        {
            Parallel.For(0, parts, Body);
        }
    }

    /// <summary>Top-entry candidates of one block (see <see cref="Top"/>).</summary>
    internal sealed record TopCandidates(List<(int Row, int Channel, float Value)> Entries, float Threshold, long TiesAtThreshold);

    /// <summary>
    /// Candidates for the <paramref name="k"/> first entries by (|x| descending, row ascending, channel ascending), as
    /// (row, channel, signed value); the caller sorts and truncates. Those entries lie in rows whose non-NaN max reaches
    /// the k-th largest such max t and have |x| ≥ t. Entries equal to t are kept in row-then-channel order, at most k of
    /// them; <see cref="TopCandidates.TiesAtThreshold"/> counts them all.
    /// </summary>
    public static TopCandidates Top(float* data, int rows, int channels, float[] finiteMax, int k)
    {
        // With no more rows than k every (non-NaN) entry is a candidate.
        float threshold = k >= rows ? -1f : Select((float[])finiteMax.Clone(), rows - k);
        var entries = new List<(int, int, float)>();
        var ties = new List<(int, int, float)>();
        long tieCount = 0;
        for (int r = 0; r < rows; r++)
        {
            if (!(finiteMax[r] >= threshold)) continue;
            float* row = data + (long)r * channels;
            for (int j = 0; j < channels; j++)
            {
                float a = MathF.Abs(row[j]);
                if (a > threshold) entries.Add((r, j, row[j]));
                else if (a == threshold && tieCount++ < k) ties.Add((r, j, row[j]));
            }
        }
        entries.AddRange(ties);
        return new TopCandidates(entries, threshold, tieCount);
    }

    private static void ReduceRow(float* row, int channels, int r, RowResults result, RowScratch scratch)
    {
        float max = 0;
        int nan = 0, low = LogHistogram.BinCount, high = -1;
        bool medians = result.TokenMedian is not null;
        long* counts = scratch.BinCounts;
        int* rowBins = scratch.RowBins;
        short* elementBins = scratch.ElementBins;
        for (int j = 0; j < channels; j++)
        {
            float a = MathF.Abs(row[j]);
            int bin = LogHistogram.Bin(a, out bool nearEdge);
            if (nearEdge) scratch.NearEdge.Add(a);
            else counts[bin]++;
            if (float.IsNaN(a)) { nan++; elementBins[j] = -1; continue; }
            if (a > max) max = a;
            elementBins[j] = (short)bin;
            rowBins[bin]++;
            if (bin < low) low = bin;
            if (bin > high) high = bin;
        }
        result.FiniteMax[r] = max;
        result.TokenMax[r] = nan > 0 ? float.NaN : max;
        if (medians)
        {
            int rank = (channels + 1) / 2 - 1;             // 0-based lower median; NaN ranks above every number
            if (rank >= channels - nan)
            {
                result.TokenMedian![r] = float.NaN;
            }
            else
            {
                int below = 0, target = low;
                while (below + rowBins[target] <= rank) below += rowBins[target++];
                int count = 0;
                float* values = scratch.Values;
                for (int j = 0; j < channels; j++)
                {
                    if (elementBins[j] == target) values[count++] = MathF.Abs(row[j]);
                }
                result.TokenMedian![r] = Select(new Span<float>(values, count), rank - below);
            }
        }
        if (high >= low) new Span<int>(rowBins + low, high - low + 1).Clear();
    }

    /// <summary>The <paramref name="index"/>-th smallest (0-based) of NaN-free <paramref name="values"/>, which it reorders.</summary>
    internal static float Select(Span<float> values, int index)
    {
        int low = 0, high = values.Length - 1;
        while (low < high)
        {
            // Median of three as pivot, then a three-way partition: [low, lt) < pivot, [lt, gt] == pivot, (gt, high] > pivot.
            float a = values[low], b = values[low + (high - low) / 2], c = values[high];
            float pivot = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
            int lt = low, i = low, gt = high;
            while (i <= gt)
            {
                float v = values[i];
                if (v < pivot) { values[i++] = values[lt]; values[lt++] = v; }
                else if (v > pivot) { values[i] = values[gt]; values[gt--] = v; }
                else i++;
            }
            if (index < lt) high = lt - 1;
            else if (index > gt) low = gt + 1;
            else return pivot;
        }
        return values[index];
    }

    /// <summary>One worker's buffers, pinned so the row loop works on pointers.</summary>
    private sealed class RowScratch(int channels)
    {
        private readonly long[] _binCounts = GC.AllocateArray<long>(LogHistogram.BinCount, pinned: true);
        private readonly int[] _rowBins = GC.AllocateArray<int>(LogHistogram.BinCount, pinned: true);
        private readonly short[] _elementBins = GC.AllocateArray<short>(channels, pinned: true);
        private readonly float[] _values = GC.AllocateArray<float>(channels, pinned: true);

        public long* BinCounts => (long*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_binCounts));
        public int* RowBins => (int*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_rowBins));
        public short* ElementBins => (short*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_elementBins));
        public float* Values => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_values));
        public ReadOnlySpan<long> Counts => _binCounts;
        public List<float> NearEdge { get; } = new();
    }
}
