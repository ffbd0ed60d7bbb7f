using static TorchSharp.torch;

namespace Optimizer.Engine.Model;

/// <summary>
/// A fixed log-binned histogram of |x| for quantiles. Resolution: 16 bins per octave (bin edges a factor
/// 2^(1/16) ≈ 1.044 apart) from 2^−32 to 2^32. Bin 0 holds |x| &lt; 2^−32 (including exact zeros); bins 1…1024 hold
/// [2^(−32+(i−1)/16), 2^(−32+i/16)); bin 1025 holds |x| ≥ 2^32, infinities and NaN. A quantile is reported as its bin's
/// geometric centre, so inside the range it is within a factor 2^(1/32) (about ±2.2%) of the exact order statistic.
/// </summary>
public sealed class LogHistogram
{
    /// <summary>Bins per factor of two.</summary>
    public const int BinsPerOctave = 16;

    /// <summary>Exponent of the lower edge of bin 1.</summary>
    public const int MinExponent = -32;

    /// <summary>Exponent of the lower edge of the overflow bin.</summary>
    public const int MaxExponent = 32;

    /// <summary>Total bins, including the underflow/zero bin and the overflow bin.</summary>
    public const int BinCount = (MaxExponent - MinExponent) * BinsPerOctave + 2;

    private readonly long[] _counts = new long[BinCount];

    /// <summary>Count per bin.</summary>
    public ReadOnlySpan<long> Counts => _counts;

    /// <summary>Number of values counted.</summary>
    public long Total { get; private set; }

    /// <summary>Lower edge of bin <paramref name="bin"/> (0 for the zero bin).</summary>
    public static double LowerEdge(int bin) => bin <= 0 ? 0 : Math.Pow(2, MinExponent + (bin - 1) / (double)BinsPerOctave);

    /// <summary>The value a bin stands for: 0, the geometric centre, or +∞ for the overflow bin.</summary>
    public static double Representative(int bin) => bin <= 0 ? 0
        : bin >= BinCount - 1 ? double.PositiveInfinity
        : Math.Pow(2, MinExponent + (bin - 0.5) / BinsPerOctave);

    /// <summary>
    /// The <paramref name="q"/>-quantile (0 ≤ q ≤ 1, nearest rank: the smallest bin whose cumulative count reaches
    /// ⌈q·N⌉, at least 1) as the bin's <see cref="Representative"/>; NaN when empty.
    /// </summary>
    public double Quantile(double q)
    {
        if (!(q >= 0 && q <= 1)) throw new ArgumentOutOfRangeException(nameof(q), q, "A quantile must be between 0 and 1.");
        if (Total == 0) return double.NaN;
        long rank = Math.Max(1, (long)Math.Ceiling(q * Total));
        long seen = 0;
        for (int bin = 0; bin < BinCount; bin++)
        {
            seen += _counts[bin];
            if (seen >= rank) return Representative(bin);
        }
        return Representative(BinCount - 1);
    }

    /// <summary>Counts the |x| values of <paramref name="abs"/> (any shape, float32, non-negative or NaN) in torch.</summary>
    /// <remarks>
    /// One <c>histc</c> over log2|x| with the same 1/16-octave bins, widened by one octave on each side: log2 is
    /// clamped into [MinExponent−1, MaxExponent+1) (NaN mapped to the top), and the extra octave below folds into the
    /// zero bin, everything from MaxExponent up into the overflow bin.
    /// </remarks>
    internal void Add(Tensor abs)
    {
        const int low = MinExponent - 1, high = MaxExponent + 1;
        const int fineBins = (high - low) * BinsPerOctave;
        double top = high - 0.5 / BinsPerOctave;
        using var scope = NewDisposeScope();
        Tensor log2 = abs.clamp_min(Math.Pow(2, low)).log2_().nan_to_num_(nan: top).clamp_(low, top);
        Tensor fine = log2.histc(fineBins, low, high);
        using Tensor cpu = fine.to(ScalarType.Float64, CPU, copy: true);
        double[] counts = cpu.data<double>().ToArray();
        for (int i = 0; i < fineBins; i++)
        {
            int bin = Math.Clamp(i - BinsPerOctave + 1, 0, BinCount - 1);
            _counts[bin] += (long)counts[i];
        }
        Total += abs.numel();
    }
}
