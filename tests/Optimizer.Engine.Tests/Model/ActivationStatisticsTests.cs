using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Tests.Model;

/// <summary>Streaming statistics agree with values computed directly from whole activations.</summary>
public class ActivationStatisticsTests
{
    private static readonly ModelSpec Spec = new("stats", Heads: 4, KvHeads: 2, Layers: 2, Vocab: 40);
    private const int PlantedToken = 7, PlantedChannel = 5;
    private const float PlantedValue = -300f;

    private static InMemoryTensorSource PlantedSource() => RandomModels.Build(Spec, seed: 21, (role, _, values) =>
    {
        if (role == TensorRole.TokenEmbedding) values[PlantedToken * Spec.Hidden + PlantedChannel] = PlantedValue;
    });

    /// <summary>Two batches of 2×6 tokens; token 7 appears exactly once, in batch 1, sequence 1, position 3.</summary>
    private static int[][][] Batches()
    {
        int[][][] batches = { RandomModels.Tokens(Spec.Vocab, 2, 6, seed: 31), RandomModels.Tokens(Spec.Vocab, 2, 6, seed: 32) };
        foreach (var seq in batches.SelectMany(b => b))
            for (int t = 0; t < seq.Length; t++) if (seq[t] == PlantedToken) seq[t] = PlantedToken + 1;
        batches[1][1][3] = PlantedToken;
        return batches;
    }

    private static (ActivationStatistics Stats, CapturingProbe Capture) Run(ActivationStatisticsOptions? options = null)
    {
        using var source = PlantedSource();
        using var model = LlamaModel.Create(RandomModels.Config(Spec), source, new ModelOptions());
        var stats = new ActivationStatistics(options);
        var capture = new CapturingProbe();
        long first = 100;
        foreach (var batch in Batches())
        {
            using var _ = model.Forward(batch, new CompositeProbe(stats, capture), first);
            first += batch.Length * batch[0].Length;
        }
        return (stats, capture);
    }

    [Fact]
    public void StatisticsMatchWholeActivations()
    {
        var (stats, capture) = Run(new ActivationStatisticsOptions { TopK = 5 });
        foreach (int layer in new[] { 0, 1 })
        {
            foreach (var site in ProbeSites.All.Where(s => capture.Seen.Any(c => c.Context.Site == s)))
            {
                var seen = capture.Seen.Where(s => s.Context.Layer == layer && s.Context.Site == site).ToList();
                int channels = seen[0].Channels;
                var rows = new List<(long Index, int Position, long Token, float[] Values)>();
                foreach (var (context, _, values) in seen)
                    for (int r = 0; r < context.Rows; r++)
                        rows.Add((context.TokenIndex(r), context.Position(r), context.TokenIds.Span[r], values.AsSpan(r * channels, channels).ToArray()));

                SiteStatistics s = stats.Get(layer, site);
                Assert.Equal(rows.Count, s.TokenCount);
                Assert.Equal(channels, s.Channels);
                var channelMax = Enumerable.Range(0, channels).Select(j => rows.Max(r => MathF.Abs(r.Values[j]))).ToArray();
                Assert.Equal(channelMax, s.ChannelAbsMax.ToArray());
                Assert.Equal(channelMax.Max(), s.MaxAbs);
                float[] mean = s.ChannelMeanAbs();
                for (int j = 0; j < channels; j++)
                    Assert.Equal(rows.Average(r => (double)MathF.Abs(r.Values[j])), mean[j], 5);

                Assert.Equal(100 + rows.Count, s.TokenSlots);
                Assert.All(s.TokenAbsMax[..100].ToArray(), v => Assert.True(float.IsNaN(v)));
                foreach (var row in rows)
                {
                    float[] sorted = row.Values.Select(MathF.Abs).Order().ToArray();
                    Assert.Equal(sorted[^1], s.TokenAbsMax[(int)row.Index]);
                    Assert.Equal(sorted[(channels - 1) / 2], s.TokenMedianAbs[(int)row.Index]); // lower median
                }

                var expectedTop = rows
                    .SelectMany(r => r.Values.Select((v, j) => new ActivationEntry(layer, site, r.Index, r.Position, r.Token, j, v)))
                    .Order(Comparer<ActivationEntry>.Create(ActivationEntry.CompareByMagnitude)).Take(5).ToList();
                Assert.Equal(expectedTop, s.Top);
            }
        }
    }

    [Fact]
    public void PlantedValueIsFoundAtItsLayerSiteTokenAndChannel()
    {
        var (stats, _) = Run();
        long plantedIndex = 100 + 12 + 1 * 6 + 3;
        foreach (var site in new[] { ProbeSite.AttnY1, ProbeSite.Y1, ProbeSite.Y8 })
        {
            ActivationEntry top = stats.Get(0, site).Top[0];
            Assert.Equal((0, site, plantedIndex, 3, (long)PlantedToken, PlantedChannel), (top.Layer, top.Site, top.TokenIndex, top.Position, top.TokenId, top.Channel));
            Assert.True(top.Value < -250, $"{ProbeSites.Id(site)}: {top.Value}");
        }
        Assert.Equal(PlantedValue, stats.Get(0, ProbeSite.AttnY1).Top[0].Value);
        // after RMSNorm the planted token's other channels are tiny: its median is far below its max
        SiteStatistics y1 = stats.Get(0, ProbeSite.AttnY1);
        Assert.True(y1.TokenAbsMax[(int)plantedIndex] > 100 * y1.TokenMedianAbs[(int)plantedIndex]);
    }

    [Fact]
    public void ChunkedReductionGivesIdenticalResults()
    {
        var (whole, _) = Run();
        var (chunked, _) = Run(new ActivationStatisticsOptions { ChunkElements = 50 });
        foreach (var (a, b) in whole.Sites.Zip(chunked.Sites))
        {
            Assert.Equal((a.Layer, a.Site, a.TokenCount, a.MaxAbs), (b.Layer, b.Site, b.TokenCount, b.MaxAbs));
            Assert.Equal(a.ChannelAbsMax.ToArray(), b.ChannelAbsMax.ToArray());
            Assert.Equal(a.TokenMedianAbs.ToArray(), b.TokenMedianAbs.ToArray());
            Assert.Equal(a.Top, b.Top);
            Assert.Equal(a.Histogram.Counts.ToArray(), b.Histogram.Counts.ToArray());
            float[] ma = a.ChannelMeanAbs(), mb = b.ChannelMeanAbs();
            for (int j = 0; j < ma.Length; j++) Assert.Equal(ma[j], mb[j], 5);
        }
    }

    [Fact]
    public void QuantilesAreWithinTheHistogramResolution()
    {
        var (stats, capture) = Run();
        double factor = Math.Pow(2, 1.0 / LogHistogram.BinsPerOctave);
        foreach (var site in new[] { ProbeSite.AttnQ, ProbeSite.Y6, ProbeSite.Y8 })
        {
            float[] all = capture.Seen.Where(s => s.Context.Layer == 1 && s.Context.Site == site)
                .SelectMany(s => s.Values).Select(MathF.Abs).Order().ToArray();
            SiteStatistics s = stats.Get(1, site);
            Assert.Equal(all.Length, s.Histogram.Total);
            foreach (double q in new[] { 0.1, 0.5, 0.9, 0.999, 1.0 })
            {
                double exact = all[Math.Max(1, (int)Math.Ceiling(q * all.Length)) - 1];
                double estimate = s.Quantile(q);
                Assert.True(estimate >= exact / factor && estimate <= exact * factor, $"{ProbeSites.Id(site)} q={q}: {estimate} vs {exact}");
            }
        }
    }

    [Fact]
    public void SameInputGivesSameStatisticsAndFiltersApply()
    {
        var options = new ActivationStatisticsOptions { Sites = new HashSet<ProbeSite> { ProbeSite.Y6 }, Layers = new HashSet<int> { 1 } };
        var (a, _) = Run(options);
        var (b, _) = Run(options);
        SiteStatistics sa = Assert.Single(a.Sites), sb = Assert.Single(b.Sites);
        Assert.Equal((1, ProbeSite.Y6), (sa.Layer, sa.Site));
        Assert.Equal(sa.Top, sb.Top);
        Assert.Equal(sa.TokenAbsMax.ToArray(), sb.TokenAbsMax.ToArray());
        Assert.Equal(sa.Histogram.Counts.ToArray(), sb.Histogram.Counts.ToArray());
        Assert.False(a.TryGet(0, ProbeSite.Y6, out _));
        Assert.DoesNotContain(sa.TokenMedianAbs[100..].ToArray(), float.IsNaN);

        var (noMedian, _) = Run(options with { TokenMedianSites = new HashSet<ProbeSite> { ProbeSite.Y8 } });
        SiteStatistics sn = Assert.Single(noMedian.Sites);
        Assert.All(sn.TokenMedianAbs.ToArray(), v => Assert.True(float.IsNaN(v)));
        Assert.Equal(sa.TokenAbsMax.ToArray(), sn.TokenAbsMax.ToArray());
        Assert.Throws<KeyNotFoundException>(() => a.Get(1, ProbeSite.Y5));
    }

    [Fact]
    public void HistogramBinsFollowTheDocumentedEdges()
    {
        using var values = TorchSharp.torch.tensor(new float[] { 0f, 1e-12f, 1f, 1.05f, 3f, float.PositiveInfinity, float.NaN, 1e10f });
        var h = new LogHistogram();
        h.Add(values.abs());
        int one = 1 + (0 - LogHistogram.MinExponent) * LogHistogram.BinsPerOctave;
        long[] counts = h.Counts.ToArray();
        Assert.Equal(2, counts[0]);                        // 0 and 1e-12 < 2^-32
        Assert.Equal(1, counts[one]);                      // 1.0 is the lower edge of its bin
        Assert.Equal(1, counts[one + 1]);                  // 1.05 > 2^(1/16) = 1.0443
        Assert.Equal(3, counts[LogHistogram.BinCount - 1]); // inf, NaN, 1e10 ≥ 2^32
        Assert.Equal(8, h.Total);
        Assert.Equal(1.0, LogHistogram.LowerEdge(one), 12);
        Assert.Equal(0, h.Quantile(0.25));
        Assert.True(double.IsPositiveInfinity(h.Quantile(1)));
    }
}
