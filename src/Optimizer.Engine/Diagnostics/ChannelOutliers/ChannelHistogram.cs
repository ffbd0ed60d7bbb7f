using Optimizer.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Optimizer.Engine.Diagnostics.ChannelOutliers;

/// <summary>
/// Streaming per-channel distribution of |x| at one (layer, site): for every channel a log-binned histogram over
/// tokens, so per-channel medians and tail fractions can be read without keeping activations. Bins: 8 per octave
/// (edges a factor 2^(1/8) ≈ 1.09 apart) from 2^−16 to 2^16; bin 0 holds |x| &lt; 2^−16 (zeros included), the last bin
/// |x| ≥ 2^16, infinities and NaN. Quantiles interpolate log-linearly inside their bin, so they are within one bin
/// width (±9%) of the exact order statistic and usually much closer. Memory: <see cref="BinCount"/> int32 counts per
/// channel.
/// </summary>
public sealed class ChannelHistogram
{
    /// <summary>Bins per factor of two.</summary>
    public const int BinsPerOctave = 8;

    /// <summary>Exponent of the lower edge of bin 1.</summary>
    public const int MinExponent = -16;

    /// <summary>Exponent of the lower edge of the overflow bin.</summary>
    public const int MaxExponent = 16;

    /// <summary>Bins per channel, including the underflow/zero bin and the overflow bin.</summary>
    public const int BinCount = (MaxExponent - MinExponent) * BinsPerOctave + 2;

    private readonly int[] _counts;

    internal ChannelHistogram(int layer, ProbeSite site, int channels)
    {
        Layer = layer;
        Site = site;
        Channels = channels;
        _counts = new int[checked(channels * BinCount)];
    }

    /// <summary>0-based decoder layer.</summary>
    public int Layer { get; }

    /// <summary>Operator position.</summary>
    public ProbeSite Site { get; }

    /// <summary>Channels (columns) of the activation.</summary>
    public int Channels { get; }

    /// <summary>Tokens (rows) observed.</summary>
    public long TokenCount { get; private set; }

    /// <summary>Lower edge of bin <paramref name="bin"/> (0 for the zero bin).</summary>
    public static double LowerEdge(int bin) => bin <= 0 ? 0 : Math.Pow(2, MinExponent + (bin - 1) / (double)BinsPerOctave);

    /// <summary>The counts of channel <paramref name="channel"/>, one per bin.</summary>
    public ReadOnlySpan<int> Counts(int channel)
    {
        if ((uint)channel >= (uint)Channels) throw new ArgumentOutOfRangeException(nameof(channel));
        return _counts.AsSpan(channel * BinCount, BinCount);
    }

    /// <summary>Lower median over tokens of |x[:, channel]| (nearest rank ⌈N/2⌉, interpolated in its bin); NaN when empty.</summary>
    public double Median(int channel) => Quantile(Counts(channel), TokenCount, 0.5);

    /// <summary>Per-channel <see cref="Median"/>.</summary>
    public double[] Medians()
    {
        var medians = new double[Channels];
        for (int j = 0; j < Channels; j++) medians[j] = Median(j);
        return medians;
    }

    /// <summary>Lower median of |x| over every (token, channel) entry; NaN when empty.</summary>
    public double MedianOfAllEntries()
    {
        var total = new long[BinCount];
        for (int j = 0; j < Channels; j++)
        {
            ReadOnlySpan<int> counts = Counts(j);
            for (int b = 0; b < BinCount; b++) total[b] += counts[b];
        }
        return Quantile(total, TokenCount * Channels, 0.5);
    }

    /// <summary>
    /// Fraction of tokens with |x[t, channel]| ≥ <paramref name="level"/>: whole bins above the level, plus the share
    /// of the bin containing it, assuming values spread log-uniformly inside that bin. The overflow bin (≥ 2^16, ∞, NaN)
    /// counts as above every level, the zero bin as below every positive level. 0 when empty.
    /// </summary>
    public double FractionAtLeast(int channel, double level)
    {
        if (TokenCount == 0) return 0;
        ReadOnlySpan<int> counts = Counts(channel);
        if (!(level > 0)) return 1;
        double above = 0;
        for (int b = BinCount - 1; b >= 0; b--)
        {
            double lower = LowerEdge(b);
            if (lower >= level || b == BinCount - 1)
            {
                above += counts[b];
                continue;
            }
            if (b > 0 && b < BinCount - 1)
            {
                double upper = LowerEdge(b + 1);
                above += counts[b] * Math.Log2(upper / level) * BinsPerOctave;
            }
            break;
        }
        return Math.Clamp(above / TokenCount, 0, 1);
    }

    /// <summary>Counts the rows of <paramref name="rows"/> ([n, Channels] float32) in torch; only the counts come back.</summary>
    internal void Add(Tensor rows)
    {
        long n = rows.shape[0];
        using var scope = NewDisposeScope();
        // Bin index = 1 + ⌊(log2|x| − MinExponent)·BinsPerOctave⌋, clamped into [0, BinCount − 1]; NaN goes to the top.
        // Every number handed to torch is an explicitly disposed Scalar: an implicit conversion leaves the native scalar
        // to the finalizer thread, which may free it while libtorch still reads it.
        using Scalar floor = Math.Pow(2, MinExponent - 1).ToScalar();
        using Scalar minExponent = MinExponent.ToScalar();
        using Scalar binsPerOctave = BinsPerOctave.ToScalar();
        using Scalar zero = 0.ToScalar();
        using Scalar lastBin = (BinCount - 1).ToScalar();
        using Scalar binCount = BinCount.ToScalar();
        Tensor log2 = rows.abs().clamp_min(floor).log2_();
        Tensor bin = ExplicitScalars.AddInPlace(log2.sub_(minExponent).mul_(binsPerOctave).floor_(), 1)
            .nan_to_num_(nan: BinCount - 1).clamp_(zero, lastBin).to(ScalarType.Int64);
        Tensor offsets = ExplicitScalars.Range(Channels, ScalarType.Int64, rows.device).mul_(binCount).unsqueeze(0);
        Tensor flat = ExplicitScalars.AddInPlace(bin, offsets).view(-1);
        Tensor counts = flat.bincount(null, (long)Channels * BinCount).to(ScalarType.Int64, CPU, copy: true);
        long[] added = counts.data<long>().ToArray();
        for (int i = 0; i < added.Length; i++) _counts[i] = checked(_counts[i] + (int)added[i]);
        TokenCount += n;
    }

    private static double Quantile<T>(ReadOnlySpan<T> counts, long total, double q) where T : System.Numerics.IBinaryInteger<T>
    {
        if (total == 0) return double.NaN;
        long rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (int b = 0; b < counts.Length; b++)
        {
            long count = long.CreateChecked(counts[b]);
            if (seen + count >= rank) return Interpolate(b, rank - seen, count);
            seen += count;
        }
        return double.PositiveInfinity;
    }

    /// <summary>The value of the <paramref name="rankInBin"/>-th of <paramref name="count"/> entries of a bin, log-uniform inside it.</summary>
    private static double Interpolate(int bin, long rankInBin, long count)
    {
        if (bin <= 0) return 0;
        if (bin >= BinCount - 1) return double.PositiveInfinity;
        double position = (rankInBin - 0.5) / count;
        return LowerEdge(bin) * Math.Pow(2, position / BinsPerOctave);
    }
}
