using Optimizer.Engine.Model;
using static TorchSharp.torch;

namespace Optimizer.Engine.Tests.Model;

/// <summary>
/// The managed statistics reductions agree exactly with the torch reductions they replaced: log-bin histogram counts
/// (including values right at bin edges), per-token max and lower median (kthvalue), per-channel max and mean, top-k,
/// and they do not depend on how the rows are partitioned.
/// </summary>
public class StatisticsKernelTests
{
    /// <summary>Log-uniform values over 2^-40…2^40, the neighbourhood of every bin edge, and special values.</summary>
    private static float[] HistogramValues()
    {
        var random = new Random(5);
        var values = new List<float>();
        for (int i = 0; i < 200_000; i++) values.Add((float)Math.Pow(2, random.NextDouble() * 80 - 40));
        for (int bin = 0; bin <= LogHistogram.BinCount; bin++)
        {
            float edge = (float)Math.Pow(2, LogHistogram.MinExponent + (bin - 1) / (double)LogHistogram.BinsPerOctave);
            int bits = BitConverter.SingleToInt32Bits(edge);
            for (int step = -3000; step <= 3000; step += 7) values.Add(BitConverter.Int32BitsToSingle(bits + step));
        }
        values.AddRange(new[] { 0f, float.Epsilon, 1e-45f, 1e-38f, float.MaxValue, float.PositiveInfinity, float.NaN, 1f, 2f, 0.5f });
        return values.ToArray();
    }

    [Fact]
    public void ExactBinningCountsLikeTheTorchHistogram()
    {
        float[] values = HistogramValues();
        var reference = new LogHistogram();
        using (Tensor t = tensor(values)) reference.Add(t);

        var managed = new LogHistogram();
        var counts = new long[LogHistogram.BinCount];
        var near = new List<float>();
        foreach (float v in values)
        {
            int bin = LogHistogram.Bin(v, out bool nearEdge);
            if (nearEdge) near.Add(v);
            else counts[bin]++;
        }
        managed.AddBinCounts(counts, values.Length - near.Count);
        managed.AddExact(near.ToArray());

        Assert.Equal(reference.Total, managed.Total);
        Assert.Equal(reference.Counts.ToArray(), managed.Counts.ToArray());
        Assert.InRange(near.Count, 1, values.Length / 2);
    }

    [Fact]
    public void BinIsMonotoneInTheValue()
    {
        float[] values = HistogramValues().Where(v => !float.IsNaN(v)).Order().ToArray();
        int previous = 0;
        foreach (float v in values)
        {
            int bin = LogHistogram.Bin(v, out _);
            Assert.True(bin >= previous, $"bin {bin} of {v} is below {previous}");
            previous = bin;
        }
    }

    /// <summary>Seeded rows with repeated values (ties), zeros, one huge entry and a NaN row.</summary>
    private static float[] Activation(int rows, int channels, bool withNaN)
    {
        var random = new Random(11);
        var data = new float[rows * channels];
        for (int i = 0; i < data.Length; i++) data[i] = (float)((random.NextDouble() - 0.5) * Math.Exp(random.NextDouble() * 6 - 3));
        for (int j = 0; j < channels; j += 3) data[channels + j] = 0.25f;            // row 1: ties at the median
        for (int j = 0; j < channels; j++) data[2 * channels + j] = 0f;              // row 2: all zeros
        data[5 * channels + 7] = -1e6f;
        if (withNaN)
        {
            data[3 * channels + 1] = float.NaN;                                         // row 3: one NaN
            for (int j = 0; j < channels; j += 2) data[4 * channels + j] = float.NaN;   // row 4: half NaN
        }
        return data;
    }

    private static SiteStatistics Observe(float[] data, int rows, int channels, long chunkElements = ActivationStatisticsOptions.MaxChunkElements, int topK = 16)
    {
        var stats = new ActivationStatistics(new ActivationStatisticsOptions { TopK = topK, ChunkElements = chunkElements });
        var ids = Enumerable.Range(0, rows).Select(i => (long)i).ToArray();
        using Tensor t = tensor(data, new long[] { rows, channels });
        stats.Observe(new ProbeContext(0, ProbeSite.Y1, 1, rows, ids, 0), t);
        return stats.Get(0, ProbeSite.Y1);
    }

    [Theory]
    [InlineData(64, 256, false)]
    [InlineData(300, 688, false)]
    [InlineData(40, 255, true)]
    public void ReductionsMatchTorch(int rows, int channels, bool withNaN)
    {
        float[] data = Activation(rows, channels, withNaN);
        SiteStatistics s = Observe(data, rows, channels);
        using var scope = NewDisposeScope();
        Tensor abs = tensor(data, new long[] { rows, channels }).abs();

        Assert.Equal(abs.amax(new long[] { 1 }).data<float>().ToArray(), s.TokenAbsMax.ToArray());
        Assert.Equal(abs.kthvalue((channels + 1) / 2, 1).values.data<float>().ToArray(), s.TokenMedianAbs.ToArray());
        Assert.Equal(abs.amax(new long[] { 0 }).data<float>().ToArray(), s.ChannelAbsMax.ToArray());
        double[] sums = abs.sum(0, type: ScalarType.Float64).data<double>().ToArray();
        float[] mean = s.ChannelMeanAbs();
        for (int j = 0; j < channels; j++)
        {
            float expected = (float)(sums[j] / rows);
            if (float.IsNaN(expected)) Assert.True(float.IsNaN(mean[j]));
            else Assert.Equal(expected, mean[j], expected * 1e-6f);
        }

        var all = new List<ActivationEntry>();
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < channels; j++)
                if (!float.IsNaN(data[r * channels + j])) all.Add(new ActivationEntry(0, ProbeSite.Y1, r, r, r, j, data[r * channels + j]));
        all.Sort(ActivationEntry.CompareByMagnitude);
        Assert.Equal(all.Take(16), s.Top);
    }

    [Fact]
    public void ResultsDoNotDependOnRowPartitioning()
    {
        const int rows = 512, channels = 384;
        float[] data = Activation(rows, channels, withNaN: false);
        SiteStatistics whole = Observe(data, rows, channels);
        SiteStatistics chunked = Observe(data, rows, channels, chunkElements: 37 * channels);
        Assert.Equal(whole.TokenAbsMax.ToArray(), chunked.TokenAbsMax.ToArray());
        Assert.Equal(whole.TokenMedianAbs.ToArray(), chunked.TokenMedianAbs.ToArray());
        Assert.Equal(whole.ChannelAbsMax.ToArray(), chunked.ChannelAbsMax.ToArray());
        Assert.Equal(whole.Histogram.Counts.ToArray(), chunked.Histogram.Counts.ToArray());
        Assert.Equal(whole.Top, chunked.Top);
        Assert.Equal(whole.MaxAbs, chunked.MaxAbs);
        Assert.Equal(1e6f, whole.MaxAbs);
    }

    [Fact]
    public void TiedTopEntriesKeepTheEarliestTokensWhenTheTieIsInsideTheTopK()
    {
        const int rows = 8, channels = 32;
        var data = new float[rows * channels];
        for (int r = 0; r < rows; r++) data[r * channels + 3] = 5f;    // 8 equal maxima, k = 16 takes all of them
        data[6 * channels + 9] = -7f;
        SiteStatistics s = Observe(data, rows, channels);
        Assert.Equal(-7f, s.Top[0].Value);
        Assert.Equal(Enumerable.Range(0, rows).Select(r => (long)r), s.Top.Skip(1).Take(rows).Select(e => e.TokenIndex));
    }

    [Fact]
    public void SelectFindsOrderStatistics()
    {
        var random = new Random(3);
        for (int n = 1; n < 60; n++)
        {
            float[] values = Enumerable.Range(0, n).Select(_ => (float)random.Next(0, 7)).ToArray();
            float[] sorted = values.Order().ToArray();
            for (int k = 0; k < n; k++) Assert.Equal(sorted[k], ActivationReduction.Select((float[])values.Clone(), k));
        }
    }
}
