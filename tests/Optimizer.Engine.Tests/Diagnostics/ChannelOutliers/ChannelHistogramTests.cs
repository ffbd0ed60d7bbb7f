using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Model;
using static TorchSharp.torch;

namespace Optimizer.Engine.Tests.Diagnostics.ChannelOutliers;

public class ChannelHistogramTests
{
    private static readonly double BinFactor = Math.Pow(2, 1.0 / ChannelHistogram.BinsPerOctave);

    /// <summary>Rows [tokens, channels] whose channel j has magnitudes spread over a decade between 10^(j/8 − 3) and ten times that.</summary>
    private static float[,] Data(int tokens, int channels, int seed)
    {
        var random = new Random(seed);
        var data = new float[tokens, channels];
        for (int t = 0; t < tokens; t++)
            for (int j = 0; j < channels; j++)
                data[t, j] = (float)((random.Next(2) == 0 ? -1 : 1) * Math.Pow(10, j / 8.0 - 3 + random.NextDouble()));
        return data;
    }

    private static ChannelMagnitudes Observe(float[,] data, params int[] splits)
    {
        var probe = new ChannelMagnitudes(new[] { ProbeSite.Y6 });
        int tokens = data.GetLength(0), channels = data.GetLength(1);
        var bounds = splits.Prepend(0).Append(tokens).ToArray();
        for (int b = 0; b + 1 < bounds.Length; b++)
        {
            int start = bounds[b], count = bounds[b + 1] - start;
            var slice = new float[count * channels];
            for (int t = 0; t < count; t++)
                for (int j = 0; j < channels; j++) slice[t * channels + j] = data[start + t, j];
            using var activation = tensor(slice, new long[] { count, channels });
            var ids = new long[count];
            probe.Observe(new ProbeContext(2, ProbeSite.Y6, 1, count, ids, start), activation);
        }
        return probe;
    }

    private static double ExactLowerMedian(IEnumerable<float> values)
    {
        var sorted = values.Select(v => (double)Math.Abs(v)).OrderBy(v => v).ToArray();
        return sorted[(sorted.Length - 1) / 2];
    }

    [Fact]
    public void MediansAreWithinOneBinOfTheExactOrderStatistic()
    {
        var data = Data(301, 24, 7);
        var histogram = Observe(data).Get(2, ProbeSite.Y6);
        Assert.Equal((2, ProbeSite.Y6, 24, 301L), (histogram.Layer, histogram.Site, histogram.Channels, histogram.TokenCount));
        for (int j = 0; j < 24; j++)
        {
            double exact = ExactLowerMedian(Enumerable.Range(0, 301).Select(t => data[t, j]));
            double estimate = histogram.Median(j);
            Assert.InRange(estimate / exact, 1 / BinFactor, BinFactor);
        }
        double all = ExactLowerMedian(data.Cast<float>());
        Assert.InRange(histogram.MedianOfAllEntries() / all, 1 / BinFactor, BinFactor);
    }

    [Fact]
    public void StreamingInPiecesGivesTheSameCountsAsOneObservation()
    {
        var data = Data(97, 10, 3);
        var whole = Observe(data).Get(2, ProbeSite.Y6);
        var pieces = Observe(data, 1, 40, 41, 90).Get(2, ProbeSite.Y6);
        Assert.Equal(whole.TokenCount, pieces.TokenCount);
        for (int j = 0; j < 10; j++)
        {
            Assert.Equal(whole.Counts(j).ToArray(), pieces.Counts(j).ToArray());
            Assert.Equal(whole.Median(j), pieces.Median(j));
        }
    }

    [Fact]
    public void FractionAboveALevelMatchesTheExactFractionWithinTheStraddlingBin()
    {
        var data = Data(400, 8, 11);
        var histogram = Observe(data).Get(2, ProbeSite.Y6);
        foreach (double level in new[] { 0.002, 0.01, 0.05, 0.3 })
        {
            for (int j = 0; j < 8; j++)
            {
                var column = Enumerable.Range(0, 400).Select(t => Math.Abs((double)data[t, j])).ToArray();
                double loose = column.Count(v => v >= level / BinFactor) / 400.0;
                double strict = column.Count(v => v >= level * BinFactor) / 400.0;
                double estimate = histogram.FractionAtLeast(j, level);
                Assert.InRange(estimate, strict - 1e-9, loose + 1e-9);
            }
        }
        Assert.Equal(1, histogram.FractionAtLeast(0, 0));
    }

    [Fact]
    public void ZerosTinyHugeAndNonFiniteValuesLandInTheEdgeBins()
    {
        var data = new float[,] { { 0f, 1e-9f, 1e6f, float.NaN }, { 0f, -1e-9f, -1e6f, float.PositiveInfinity }, { 0f, 0f, float.NegativeInfinity, float.NaN } };
        var histogram = Observe(data).Get(2, ProbeSite.Y6);
        Assert.Equal(3, histogram.Counts(0)[0]);
        Assert.Equal(3, histogram.Counts(1)[0]);
        Assert.Equal(3, histogram.Counts(2)[ChannelHistogram.BinCount - 1]);
        Assert.Equal(3, histogram.Counts(3)[ChannelHistogram.BinCount - 1]);
        Assert.Equal(0, histogram.Median(0));
        Assert.Equal(double.PositiveInfinity, histogram.Median(2));
        Assert.Equal(1, histogram.FractionAtLeast(3, 1e5));
    }

    [Fact]
    public void AValueOnABinEdgeIsCountedInTheBinItOpens()
    {
        var data = new float[,] { { 1f, 2f, 0.5f } };
        var histogram = Observe(data).Get(2, ProbeSite.Y6);
        int one = 1 + -ChannelHistogram.MinExponent * ChannelHistogram.BinsPerOctave;
        Assert.Equal(1, histogram.Counts(0)[one]);
        Assert.Equal(1, histogram.Counts(1)[one + ChannelHistogram.BinsPerOctave]);
        Assert.Equal(1, histogram.Counts(2)[one - ChannelHistogram.BinsPerOctave]);
        Assert.Equal(1.0, ChannelHistogram.LowerEdge(one));
    }

    [Fact]
    public void RejectsAChannelCountChangeAndUnwantedSitesAreIgnored()
    {
        var probe = new ChannelMagnitudes(new[] { ProbeSite.Y6 }, new HashSet<int> { 0 });
        Assert.True(probe.Wants(0, ProbeSite.Y6));
        Assert.False(probe.Wants(1, ProbeSite.Y6));
        Assert.False(probe.Wants(0, ProbeSite.Y5));
        using var a = zeros(2, 3);
        using var b = zeros(2, 4);
        probe.Observe(new ProbeContext(0, ProbeSite.Y6, 1, 2, new long[2], 0), a);
        Assert.Throws<ArgumentException>(() => probe.Observe(new ProbeContext(0, ProbeSite.Y6, 1, 2, new long[2], 2), b));
        Assert.Throws<KeyNotFoundException>(() => probe.Get(0, ProbeSite.Y5));
        Assert.False(probe.TryGet(0, ProbeSite.Y5, out _));
    }
}
