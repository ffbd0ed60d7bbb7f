using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Model;
using Optimizer.Engine.Quantization.Imatrix;
using Optimizer.Engine.Tests.Diagnostics;
using Optimizer.Engine.Tests.Fixtures;
using static TorchSharp.torch;

namespace Optimizer.Engine.Tests.Quantization.Imatrix;

/// <summary>
/// Collection of the importance matrix from the probed forward: per-column Σx² and Σx of each linear weight's input
/// equal an independent float64 forward's, the fused moments are exactly the float64 row-order sums of what the probe
/// saw, and the statistics without moments are unchanged.
/// </summary>
[Collection(SyntheticPresetCollection.Name)]
public sealed class ImatrixCollectionTests(SyntheticPresetFolders presets)
{
    [Fact]
    public void Collected_sums_equal_a_float64_reference_forward_per_column()
    {
        var (folder, truth) = presets.Get("all-h64-s1");
        var (analysis, model) = PresetAnalysis.Run(folder, new AnalysisOptions { ImportanceMatrix = true });
        using (model)
        {
            ImportanceMatrix matrix = ImportanceCollection.FromAnalysis(analysis);
            var config = model.Config;
            var set = analysis.Calibration;
            Assert.Equal((set.Sequences.Count, set.SequenceLength), (matrix.ChunkCount, matrix.ChunkSize));
            Assert.Equal(new[] { "self-sampled (seed 42)" }, matrix.Datasets);
            Assert.Equal(7 * config.NumHiddenLayers, matrix.Entries.Count);
            matrix.CheckFits(config);
            Assert.Equal(matrix.Entries.Select(e => e.Name).Order(StringComparer.Ordinal), matrix.Entries.Select(e => e.Name));

            // float64 reference: every calibration sequence through an independent decoder
            var sumSquares = new Dictionary<string, double[]>();
            var sums = new Dictionary<string, double[]>();
            foreach (int[] sequence in set.Sequences)
            {
                SiteActivations acts = Float64SiteDecoder.Run(config, model.Weights, sequence);
                for (int layer = 0; layer < config.NumHiddenLayers; layer++)
                {
                    foreach (var role in ImportanceMatrix.LinearRoles)
                    {
                        string name = LlamaGgufNames.Name(role, layer);
                        double[][] rows = acts[layer, ProbeSites.Id(ImportanceCollection.InputSite(role))];
                        var sq = sumSquares.TryGetValue(name, out var a) ? a : sumSquares[name] = new double[rows[0].Length];
                        var s = sums.TryGetValue(name, out var b) ? b : sums[name] = new double[rows[0].Length];
                        foreach (var row in rows)
                            for (int j = 0; j < row.Length; j++) { sq[j] += row[j] * row[j]; s[j] += row[j]; }
                    }
                }
            }
            foreach (var entry in matrix.Entries)
            {
                Assert.Equal(new[] { set.TokenCount }, entry.Counts.ToArray());
                double[] sq = sumSquares[entry.Name], s = sums[entry.Name];
                Assert.Equal(sq.Length, entry.Columns);
                double scale = sq.Max();
                for (int j = 0; j < sq.Length; j++)
                {
                    Assert.True(Math.Abs(entry.SumSquares[j] - sq[j]) <= 1e-4 * sq[j] + 1e-6 * scale,
                        $"{entry.Name}[{j}]: Σx² {entry.SumSquares[j]} vs float64 {sq[j]}");
                    Assert.True(Math.Abs(entry.Sums[j] - s[j]) <= 1e-4 * Math.Sqrt(sq[j] * set.TokenCount) + 1e-6 * Math.Sqrt(scale),
                        $"{entry.Name}[{j}]: Σx {entry.Sums[j]} vs float64 {s[j]}");
                }
                float[] weights = matrix.GetQuantWeights(entry.Name);
                for (int j = 0; j < weights.Length; j++) Assert.Equal(entry.SumSquares[j] / (float)set.TokenCount, weights[j]);
            }
            // q/k/v share their input, as do gate/up; the planted massive activation makes y6 of its birth layer dominant
            Assert.Equal(matrix.Find("blk.0.attn_q.weight")!.SumSquares.ToArray(), matrix.Find("blk.0.attn_v.weight")!.SumSquares.ToArray());
            Assert.Equal(matrix.Find("blk.0.ffn_gate.weight")!.SumSquares.ToArray(), matrix.Find("blk.0.ffn_up.weight")!.SumSquares.ToArray());
            var down = matrix.GetQuantWeights($"blk.{truth.MassiveActivation!.BirthLayer}.ffn_down.weight");
            Assert.True(down.Max() > 100 * down.Order().ElementAt(down.Length / 2), "the planted y6 neuron dominates ffn_down's importance");
        }
    }

    [Fact]
    public void Fused_moments_are_the_float64_row_order_sums_and_leave_the_other_statistics_unchanged()
    {
        const int rows = 300, channels = 203;   // above the parallel threshold, channel count not a multiple of 8
        var random = new Random(11);
        var values = new float[rows * channels];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 8 - 4) * (i % 97 == 0 ? 300 : 1);
        var sites = new HashSet<ProbeSite> { ProbeSite.Y6 };
        var with = new ActivationStatistics(new ActivationStatisticsOptions { ChannelMomentSites = sites });
        var without = new ActivationStatistics();
        var context = new ProbeContext(0, ProbeSite.Y6, 3, rows / 3, new long[rows], 0);
        using (Tensor t = tensor(values, new long[] { rows, channels }))
        {
            with.Observe(context, t);
            without.Observe(context, t);
        }
        SiteStatistics a = with.Get(0, ProbeSite.Y6), b = without.Get(0, ProbeSite.Y6);
        Assert.True(a.HasChannelMoments);
        Assert.False(b.HasChannelMoments);
        Assert.True(b.ChannelSumSquares.IsEmpty);
        for (int j = 0; j < channels; j++)
        {
            double sq = 0, s = 0;
            for (int r = 0; r < rows; r++)
            {
                double x = values[r * channels + j];
                sq += x * x;
                s += x;
            }
            Assert.Equal(sq, a.ChannelSumSquares[j]);
            Assert.Equal(s, a.ChannelSum[j]);
        }
        Assert.Equal(b.ChannelAbsMax.ToArray(), a.ChannelAbsMax.ToArray());
        Assert.Equal(b.ChannelMeanAbs(), a.ChannelMeanAbs());
        Assert.Equal(b.Top, a.Top);
        Assert.Equal(b.Histogram.Counts.ToArray(), a.Histogram.Counts.ToArray());
    }

    [Fact]
    public void Without_the_option_no_site_keeps_moments()
    {
        var (folder, _) = presets.Get("ma-h64-s1");
        var (analysis, model) = PresetAnalysis.Run(folder);
        using (model)
        {
            Assert.All(analysis.Statistics.Sites, s => Assert.False(s.HasChannelMoments));
            Assert.Throws<InvalidOperationException>(() => ImportanceCollection.FromAnalysis(analysis));
        }
    }
}
