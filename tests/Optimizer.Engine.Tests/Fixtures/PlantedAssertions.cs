using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Fixtures;

/// <summary>
/// Compares the activations of a forward pass over a synthetic model (float64 reference or the engine) with its
/// ground truth: exactly the planted massive activations and channel-wise outliers appear, nothing else does.
/// </summary>
internal static class PlantedAssertions
{
    /// <summary>Largest channel ratio tolerated at sites where nothing is planted: a clear margin below the CO factor 10.</summary>
    public const double CleanChannelRatio = 7;

    /// <summary>
    /// Every site has exactly the expected MAs (token 0, planted index, value within <paramref name="relativeTolerance"/>)
    /// and no other entry anywhere exceeds 100 in magnitude.
    /// </summary>
    public static void MassiveActivationsAreExactlyThePlanted(SyntheticGroundTruth truth, SiteActivations acts, double relativeTolerance)
    {
        var expected = (truth.MassiveActivation?.Sites ?? Array.Empty<MassiveActivationSite>())
            .Where(s => s.IsMassive)
            .ToDictionary(s => (s.Layer, s.Site));
        int seen = 0;
        foreach (var (layer, site, rows) in acts.All)
        {
            var found = OutlierCensus.Massive(rows);
            if (expected.TryGetValue((layer, site), out var e))
            {
                seen++;
                Assert.True(found.Count == 1, $"layer {layer} {site}: expected one MA, found {Describe(found)}");
                Assert.True(found[0].Token == 0 && found[0].Channel == e.Index,
                    $"layer {layer} {site}: MA at token {found[0].Token} channel {found[0].Channel}, expected token 0 channel {e.Index}");
                Assert.True(Math.Abs(found[0].Value - e.Value) <= relativeTolerance * Math.Abs(e.Value),
                    $"layer {layer} {site}: MA value {found[0].Value}, ground truth {e.Value}");
            }
            else
            {
                Assert.True(found.Count == 0, $"layer {layer} {site}: unexpected MA {Describe(found)}");
            }
            for (int t = 0; t < rows.Length; t++)
            {
                for (int c = 0; c < rows[t].Length; c++)
                {
                    if (Math.Abs(rows[t][c]) <= OutlierCensus.MassiveAbsolute) continue;
                    bool planted = t == 0 && expected.TryGetValue((layer, site), out var p) && p.Index == c;
                    Assert.True(planted, $"layer {layer} {site}: |x| = {Math.Abs(rows[t][c]):G5} > 100 at token {t}, channel {c}, which is not a planted MA");
                }
            }
        }
        Assert.Equal(expected.Count, seen);
    }

    /// <summary>The first MA in forward order is the birth site y6 (neuron k) at token 0 of the birth layer.</summary>
    public static void MassiveActivationIsBornAtDownProjInput(SyntheticGroundTruth truth, SiteActivations acts)
    {
        var ma = truth.MassiveActivation ?? throw new ArgumentException("No MA planted.", nameof(truth));
        var order = ProbeSites.All.Select(ProbeSites.Id).ToList();
        var first = acts.All
            .OrderBy(a => a.Layer).ThenBy(a => order.IndexOf(a.Site))
            .Select(a => (a.Layer, a.Site, Found: OutlierCensus.Massive(a.Rows)))
            .First(a => a.Found.Count > 0);
        Assert.Equal((ma.BirthLayer, ProbeSites.Id(ProbeSite.Y6)), (first.Layer, first.Site));
        Assert.Equal((0, ma.Neuron), (first.Found[0].Token, first.Found[0].Channel));
    }

    /// <summary>
    /// Channel-wise outliers (median rule, factor 10) appear exactly at the planted γ norms and q rows, and every other
    /// site stays below <see cref="CleanChannelRatio"/>.
    /// </summary>
    public static void ChannelOutliersAreExactlyThePlanted(SyntheticGroundTruth truth, SiteActivations acts)
    {
        var expected = new Dictionary<(int, string), int[]>();
        foreach (var g in truth.GammaOutliers) expected[(g.Layer, g.Site)] = g.Channels.ToArray();
        foreach (var q in truth.QueryOutliers.Where(q => q.Rows.Count > 0))
        {
            var key = (q.Layer, q.Site);
            expected[key] = expected.TryGetValue(key, out var rows) ? rows.Concat(q.Rows).OrderBy(r => r).ToArray() : q.Rows.ToArray();
        }
        foreach (var (layer, site, rows) in acts.All)
        {
            if (expected.TryGetValue((layer, site), out var channels))
            {
                Assert.Equal(channels, OutlierCensus.ChannelOutliers(rows));
            }
            else
            {
                double ratio = OutlierCensus.MaxChannelRatio(rows);
                Assert.True(ratio < CleanChannelRatio, $"layer {layer} {site}: channel ratio {ratio:G3} where nothing is planted");
            }
        }
    }

    /// <summary>
    /// Reading B: at each layer with planted q_proj columns, exactly those columns have a contribution
    /// max_t |attn.y2[t, i]| · max_r |W_q[r, i]| of at least 10× the median column's.
    /// </summary>
    public static void QueryColumnsDominateExactlyWherePlanted(SyntheticGroundTruth truth, SiteActivations acts, ITensorSource weights)
    {
        foreach (var plant in truth.QueryOutliers.Where(q => q.Columns.Count > 0))
        {
            var y2 = acts[plant.Layer, ProbeSites.Id(ProbeSite.AttnY2)];
            float[] w = TensorData.ReadFloat32(weights, weights.Find(plant.Tensor)!);
            int hidden = y2[0].Length, rows = w.Length / hidden;
            var score = new double[hidden];
            for (int i = 0; i < hidden; i++)
            {
                double maxW = 0;
                for (int r = 0; r < rows; r++) maxW = Math.Max(maxW, Math.Abs(w[r * hidden + i]));
                score[i] = y2.Max(row => Math.Abs(row[i])) * maxW;
            }
            double median = OutlierCensus.LowerMedianAbs(score);
            Assert.Equal(plant.Columns, Enumerable.Range(0, hidden).Where(i => score[i] >= 10 * median).ToArray());
        }
    }

    private static string Describe(List<(int Token, int Channel, double Value)> found) =>
        found.Count == 0 ? "none" : string.Join(", ", found.Take(5).Select(f => $"(token {f.Token}, channel {f.Channel}, {f.Value:G5})"));
}
