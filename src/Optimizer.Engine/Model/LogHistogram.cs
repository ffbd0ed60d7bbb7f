using System.Runtime.CompilerServices;
using TorchSharp;
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

    /// <summary>Returned by <see cref="Bin"/> for NaN: it counts in the overflow bin but is no magnitude.</summary>
    internal const int NaNBin = BinCount - 1;

    // Exact binning: a float's exponent gives the octave and its 23 mantissa bits the 1/16-octave step, found by table
    // over the top CellBits bits. Values within EdgeBand mantissa units (relative 2^-13 or less) of a bin edge are
    // "near an edge": there the torch reference (float32 log2, then histc's float arithmetic, together a few 1e-6
    // relative) may round across the edge, so those few values are counted by the torch pipeline itself.
    private const int CellBits = 12;
    private const int CellShift = 23 - CellBits;
    private const int EdgeBand = 1 << 10;
    private const byte SlowCell = byte.MaxValue;
    private static readonly int[] Thresholds = BuildThresholds();
    private static readonly byte[] Cells = BuildCells();

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

    /// <summary>
    /// The bin of <paramref name="abs"/> (≥ 0 or NaN) by exact comparison with the bin edges (monotone in the value);
    /// <paramref name="nearEdge"/> says it lies so close to an edge that <see cref="Add(Tensor)"/> may bin it in the
    /// neighbour: count such values with <see cref="AddExact"/>, the rest with <see cref="AddBinCounts"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Bin(float abs, out bool nearEdge)
    {
        nearEdge = false;
        int bits = BitConverter.SingleToInt32Bits(abs);
        int exponent = ((bits >> 23) & 0xFF) - 127;
        if (exponent == 128) return BinCount - 1;                      // +inf and NaN
        if (exponent < MinExponent - 1) return 0;
        if (exponent > MaxExponent) return BinCount - 1;
        int mantissa = bits & 0x7FFFFF;
        int step = Cells[mantissa >> CellShift];
        if (step == SlowCell) step = SlowStep(mantissa, out nearEdge);
        int bin = 1 + (exponent - MinExponent) * BinsPerOctave + step;
        return bin < 0 ? 0 : bin > BinCount - 1 ? BinCount - 1 : bin;
    }

    /// <summary>Adds per-bin counts (as from <see cref="Bin"/> for values not near an edge) totalling <paramref name="values"/>.</summary>
    internal void AddBinCounts(ReadOnlySpan<long> counts, long values)
    {
        for (int i = 0; i < BinCount; i++) _counts[i] += counts[i];
        Total += values;
    }

    /// <summary>
    /// Counts values near a bin edge exactly as <see cref="Add(Tensor)"/> does, padded with 1.0 (bin edge-free, exactly
    /// log2 = 0) to whole vector widths so torch takes the same vectorized path as for a full activation.
    /// </summary>
    internal void AddExact(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty) return;
        const int width = 64;
        int padded = (values.Length + width - 1) / width * width;
        var buffer = new float[padded];
        values.CopyTo(buffer);
        buffer.AsSpan(values.Length).Fill(1f);
        using var noGrad = no_grad();
        using Tensor t = tensor(buffer);
        Add(t);
        int pad = padded - values.Length;
        _counts[Bin(1f, out _)] -= pad;
        Total -= pad;
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
        // Explicitly disposed Scalars: an implicit conversion leaves the native scalar to the finalizer thread.
        using Scalar floor = Math.Pow(2, low).ToScalar();
        using Scalar lowScalar = low.ToScalar();
        using Scalar topScalar = top.ToScalar();
        Tensor log2 = abs.clamp_min(floor).log2_().nan_to_num_(nan: top).clamp_(lowScalar, topScalar);
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

    private static int SlowStep(int mantissa, out bool nearEdge)
    {
        nearEdge = false;
        int step = 0;
        for (int i = 0; i < Thresholds.Length; i++)
        {
            int t = Thresholds[i];
            if (Math.Abs(mantissa - t) < EdgeBand) nearEdge = true;
            if (i > 0 && i < BinsPerOctave && mantissa >= t) step++;
        }
        return step;
    }

    /// <summary>Mantissa values (units of 2^-23) of the edges 2^(i/16), i = 0…16, inside one octave.</summary>
    private static int[] BuildThresholds()
    {
        var thresholds = new int[BinsPerOctave + 1];
        for (int i = 0; i <= BinsPerOctave; i++) thresholds[i] = (int)Math.Ceiling((Math.Pow(2, i / (double)BinsPerOctave) - 1) * (1 << 23));
        return thresholds;
    }

    /// <summary>Per cell of 2^CellShift mantissa values: the step inside the octave, or SlowCell when an edge band touches it.</summary>
    private static byte[] BuildCells()
    {
        var cells = new byte[1 << CellBits];
        for (int c = 0; c < cells.Length; c++)
        {
            int low = c << CellShift, high = low + (1 << CellShift) - 1;
            bool touches = false;
            int step = 0;
            for (int i = 0; i < Thresholds.Length; i++)
            {
                int t = Thresholds[i];
                if (high > t - EdgeBand && low < t + EdgeBand) touches = true;
                if (i > 0 && i < BinsPerOctave && low >= t) step++;
            }
            cells[c] = touches ? SlowCell : (byte)step;
        }
        return cells;
    }
}
