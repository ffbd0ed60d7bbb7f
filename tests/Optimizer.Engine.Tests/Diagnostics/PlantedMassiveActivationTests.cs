using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Diagnostics.MassiveActivations;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Engine.Tests.Fixtures;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Diagnostics;

/// <summary>
/// The analysis finds exactly the planted massive activation on every synthetic preset (several seeds, hidden sizes
/// 64/128/256): birth layer, site, token, neuron and channel, every carrying site with its kind, the super weight and
/// the propagation range; and nothing on presets without one.
/// </summary>
[Collection(SyntheticPresetCollection.Name)]
public class PlantedMassiveActivationTests(SyntheticPresetFolders presets)
{
    public static TheoryData<string> PresetNames()
    {
        var data = new TheoryData<string>();
        foreach (var (name, _) in SyntheticModelBuilder.Presets.All) data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(PresetNames))]
    public void FindsExactlyThePlantedMassiveActivation(string preset)
    {
        var (folder, truth) = presets.Get(preset);
        var (analysis, model) = PresetAnalysis.Run(folder);
        using (model)
        {
            var report = analysis.MassiveActivations;
            Assert.Equal(MassiveActivationMode.Absolute, report.Options.Mode);
            var ma = truth.MassiveActivation;
            if (ma is null)
            {
                Assert.Empty(report.Occurrences);
                Assert.Empty(report.Births);
                Assert.Empty(report.Propagation);
                Assert.Empty(report.SuperWeights);
                return;
            }
            AssertPlanted(analysis, ma);
        }
    }

    internal static void AssertPlanted(ActivationAnalysis analysis, MassiveActivationTruth ma)
    {
        var report = analysis.MassiveActivations;
        int sequences = analysis.Calibration.Sequences.Count;
        var birth = Assert.Single(report.Births);
        Assert.Equal((ma.BirthLayer, ProbeSite.Y6, ma.Neuron, ma.Channel, 0, ma.TokenId),
            (birth.Layer, birth.Site, birth.Channel, birth.ResidualChannel, birth.TokenPosition, birth.TokenId));

        // Every occurrence is on a BOS token (position 0) and at a planted site; each planted site shows once per sequence.
        Assert.All(report.Occurrences, o => Assert.Equal((0, ma.TokenId, "<s>"), (o.TokenPosition, o.TokenId, o.TokenText)));
        var expected = ma.Sites.Where(s => s.IsMassive)
            .Select(s => (s.Layer, s.Site, s.Index, Kind: s.IsBirth ? MassiveActivationKind.Birth : MassiveActivationKind.Propagated))
            .OrderBy(s => s.Layer).ThenBy(s => ProbeSites.TryParse(s.Site, out var p) ? p : default).ToList();
        var found = report.Occurrences.GroupBy(o => (o.Layer, o.SiteId, o.Channel, o.Kind)).ToList();
        Assert.All(found, g => Assert.Equal(sequences, g.Count()));
        Assert.Equal(expected, found.Select(g => (g.Key.Layer, g.Key.SiteId, g.Key.Channel, g.Key.Kind)).ToList());
        foreach (var site in ma.Sites.Where(s => s.IsMassive))
        {
            var first = report.Occurrences.First(o => o.Layer == site.Layer && o.SiteId == site.Site);
            Assert.Equal(site.Value, first.Value, 2e-3 * Math.Abs(site.Value));
            Assert.InRange(first.Ratio, 1000, double.MaxValue);
        }

        var weight = Assert.Single(report.SuperWeights);
        Assert.Equal((ma.SuperWeight.Layer, ma.SuperWeight.Tensor, ma.SuperWeight.Row, ma.SuperWeight.Column),
            (weight.Layer, weight.Tensor, weight.Row, weight.Column));
        Assert.Equal(ma.SuperWeight.Value, weight.Weight, 1e-6 * Math.Abs(ma.SuperWeight.Value));
        Assert.InRange(weight.Share, 0.9, 1.1);
        Assert.Equal(weight.Weight * weight.Y6Value, weight.Contribution, 1e-9 * Math.Abs(weight.Contribution));

        var propagation = Assert.Single(report.Propagation);
        var ranges = ma.Propagation;
        Assert.Equal((ma.Channel, 0, ranges.Min(r => r.FirstLayer), ranges.Max(r => r.LastLayer)),
            (propagation.Channel, Assert.Single(propagation.TokenPositions), propagation.FirstLayer, propagation.LastLayer));
        Assert.Empty(analysis.Warnings);
    }
}
