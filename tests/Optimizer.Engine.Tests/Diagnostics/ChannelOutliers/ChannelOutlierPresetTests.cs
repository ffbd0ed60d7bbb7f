using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Diagnostics.ChannelOutliers;

/// <summary>
/// On every synthetic preset (clean, MA only, γ only, OTC only, all three; hidden 64/128/256; several seeds) the
/// analysis finds exactly the planted γ channels (cause gamma, at the right norm output), exactly the planted OTC rows
/// with their RoPE partners and the planted columns, and nothing else.
/// </summary>
public class ChannelOutlierPresetTests
{
    public static TheoryData<string> PresetNames() => new(SyntheticModelBuilder.Presets.All.Select(p => p.Name));

    [Theory]
    [MemberData(nameof(PresetNames))]
    public void FindsExactlyThePlantedChannelOutliersAndTriggeringChannels(string preset)
    {
        var model = new SyntheticModelBuilder(SyntheticModelBuilder.Presets.Named(preset)).Generate();
        var truth = model.GroundTruth;
        var (report, statistics, magnitudes) = ChannelOutlierHarness.Analyze(model);

        // Channel-wise outliers: the γ channels at their norm output (cause gamma) and the OTC rows at attn.q (cause otc).
        var expected = new List<(int Layer, string Site, int Channel, string Cause)>();
        foreach (var g in truth.GammaOutliers) expected.AddRange(g.Channels.Select(c => (g.Layer, g.Site, c, "gamma")));
        foreach (var q in truth.QueryOutliers) expected.AddRange(q.Rows.Select(r => (q.Layer, q.Site, r, "otc")));
        var actual = report.Outliers.Select(o => (o.Layer, o.SiteId, o.Channel, ChannelOutlierCauses.Id(o.Cause))).ToList();
        Assert.True(expected.OrderBy(e => e).SequenceEqual(actual.OrderBy(a => a)),
            $"expected [{string.Join("; ", expected)}], found [{string.Join("; ", report.Outliers.Select(ChannelOutlierHarness.Describe))}]");

        foreach (var o in report.Outliers)
        {
            Assert.True(o.Ratio >= 10 && o.TokenFraction > 0.5, ChannelOutlierHarness.Describe(o) + $" token fraction {o.TokenFraction}");
            if (o.Cause == ChannelOutlierCause.Gamma)
            {
                var g = truth.GammaOutliers.Single(g => g.Layer == o.Layer && g.Site == o.SiteId);
                double planted = g.Ratios[g.Channels.ToList().IndexOf(o.Channel)];
                Assert.Equal(planted, o.GammaRatio!.Value, planted * 1e-5);
                Assert.Null(o.Otc);
            }
            else
            {
                Assert.Equal((OtcReading.Row, o.Channel), (o.Otc!.Reading, o.Otc.Index));
                Assert.Null(o.GammaRatio);
            }
        }

        // OTCs: reading A rows with their rotate_half partners, reading B columns, nothing else.
        int headDim = model.Config.HeadDim;
        var expectedOtcs = truth.QueryOutliers
            .SelectMany(q => q.Rows.Select(r => (q.Layer, "row", r, (int?)(r / headDim * headDim + (r % headDim + headDim / 2) % headDim)))
                .Concat(q.Columns.Select(c => (q.Layer, "column", c, (int?)null))))
            .OrderBy(e => e.Layer).ThenBy(e => e.Item2 == "row" ? 0 : 1).ThenBy(e => e.Item3)
            .ToList();
        var actualOtcs = report.TriggeringChannels.Select(o => (o.Layer, o.ReadingId, o.Index, o.RopePair)).ToList();
        Assert.True(expectedOtcs.SequenceEqual(actualOtcs),
            $"expected [{string.Join("; ", expectedOtcs)}], found [{string.Join("; ", report.TriggeringChannels.Select(ChannelOutlierHarness.Describe))}]");
        foreach (var o in report.TriggeringChannels)
        {
            Assert.Equal($"model.layers.{o.Layer}.self_attn.q_proj.weight", o.Tensor);
            Assert.True(o.Score >= 10, ChannelOutlierHarness.Describe(o));
        }
        foreach (var q in truth.QueryOutliers.Where(q => q.Rows.Count > 0))
        {
            // Both members of every planted RoPE pair are found, each naming the other.
            var rows = report.TriggeringChannels.Where(o => o.Layer == q.Layer && o.Reading == OtcReading.Row).ToDictionary(o => o.Index);
            foreach (int r in q.Rows) Assert.Equal(r, rows[rows[r].RopePair!.Value].RopePair);
        }

        ProfilesMatchTheNorms(model, report, statistics);
        UnplantedChannelsStayClearOfTheThresholds(model, report, statistics, magnitudes);
    }

    /// <summary>Everything not planted scores below 0.7 × the thresholds, so the exact results above are not luck.</summary>
    private static void UnplantedChannelsStayClearOfTheThresholds(SyntheticModel model, ChannelOutlierReport report,
        ActivationStatistics statistics, ChannelMagnitudes magnitudes)
    {
        const double margin = 0.7;
        var found = report.Outliers.Select(o => (o.Layer, o.Site, o.Channel)).ToHashSet();
        foreach (var histogram in magnitudes.Histograms.Where(h => report.Options.Sites.Contains(h.Site)))
        {
            double[] medians = histogram.Medians();
            double typical = medians.OrderBy(m => m).ElementAt((medians.Length - 1) / 2);
            for (int j = 0; j < medians.Length; j++)
            {
                if (found.Contains((histogram.Layer, histogram.Site, j))) continue;
                Assert.True(medians[j] < margin * report.Options.CoRatio * typical,
                    $"layer {histogram.Layer} {ProbeSites.Id(histogram.Site)} channel {j}: ratio {medians[j] / typical:G3}");
            }
        }
        using var source = ChannelOutlierHarness.Source(model);
        var otcs = report.TriggeringChannels.Select(o => (o.Layer, o.Reading, o.Index)).ToHashSet();
        for (int layer = 0; layer < model.Config.NumHiddenLayers; layer++)
        {
            var query = magnitudes.Get(layer, ProbeSite.AttnQ);
            double overall = query.MedianOfAllEntries();
            for (int j = 0; j < query.Channels; j++)
            {
                if (otcs.Contains((layer, OtcReading.Row, j))) continue;
                Assert.True(query.Median(j) / overall < margin * report.Options.OtcRatio, $"layer {layer} row {j}: score {query.Median(j) / overall:G3}");
            }
            string name = LlamaTensorNames.Name(TensorRole.Q, layer);
            double[] c = QueryOutlierScorer.ColumnContributions(magnitudes.Get(layer, ProbeSite.AttnY2).Medians(), TensorData.ReadFloat32(source, source.Find(name)!));
            double median = c.OrderBy(x => x).ElementAt((c.Length - 1) / 2);
            for (int i = 0; i < c.Length; i++)
            {
                if (otcs.Contains((layer, OtcReading.Column, i))) continue;
                Assert.True(c[i] / median < margin * report.Options.OtcRatio, $"layer {layer} column {i}: score {c[i] / median:G3}");
            }
        }
    }

    private static void ProfilesMatchTheNorms(SyntheticModel model, ChannelOutlierReport report, ActivationStatistics statistics)
    {
        int layers = model.Config.NumHiddenLayers, hidden = model.Config.HiddenSize;
        Assert.Equal(2 * layers, report.Profiles.Count);
        using var source = ChannelOutlierHarness.Source(model);
        for (int i = 0; i < report.Profiles.Count; i++)
        {
            var p = report.Profiles[i];
            Assert.Equal((i / 2, i % 2 == 0 ? NormPosition.Attention : NormPosition.Ffn), (p.Layer, p.Norm));
            var role = p.Norm == NormPosition.Attention ? TensorRole.AttnNorm : TensorRole.FfnNorm;
            Assert.Equal(TensorData.ReadFloat32(source, source.Find(LlamaTensorNames.Name(role, p.Layer))!), p.Gamma);
            var (pre, post) = p.Norm == NormPosition.Attention ? (ProbeSite.AttnNormIn, ProbeSite.AttnY2) : (ProbeSite.NormIn, ProbeSite.Y2);
            Assert.Equal(statistics.Get(p.Layer, pre).ChannelAbsMax.ToArray(), p.PreGammaAbsMax);
            Assert.Equal(statistics.Get(p.Layer, post).ChannelAbsMax.ToArray(), p.PostGammaAbsMax);
            Assert.Equal(hidden, p.PreGammaAbsMax.Count);
            // y2 = γ ⊙ x̂ channel by channel, so each channel's max scales by |γ_j|.
            for (int j = 0; j < hidden; j++)
                Assert.Equal(p.PreGammaAbsMax[j] * Math.Abs(p.Gamma[j]), p.PostGammaAbsMax[j], 1e-4 * (1 + p.PostGammaAbsMax[j]));
        }
    }
}
