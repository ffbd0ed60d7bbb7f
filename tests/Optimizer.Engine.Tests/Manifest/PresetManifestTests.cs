using Optimizer.Engine.Manifest;
using Optimizer.Engine.Tests.Fixtures;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Manifest;

/// <summary>
/// The manifests of planted synthetic models: schema-valid, showing exactly the planted mechanisms (births, super
/// weights, γ channels, OTCs) and nothing on the clean model, byte-identical across runs, and guarded by snapshots.
/// </summary>
[Collection(SyntheticPresetCollection.Name)]
public sealed class PresetManifestTests
{
    private readonly SyntheticPresetFolders _presets;

    public PresetManifestTests(SyntheticPresetFolders presets) => _presets = presets;

    [Theory]
    [InlineData("clean-h64-s1")]
    [InlineData("ma-h64-s5")]
    [InlineData("gamma-h64-s1")]
    [InlineData("otc-h128-s4")]
    [InlineData("all-h128-s2")]
    public void Preset_manifest_is_valid_shows_the_planted_mechanisms_and_matches_its_snapshot(string preset)
    {
        var (folder, truth) = _presets.Get(preset);
        var (manifest, text) = PresetManifests.Analyze(folder);

        var errors = ManifestSchemaValidator.Errors(text);
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(10)));
        Assert.Equal(preset, manifest.Model.Name);
        Assert.DoesNotContain(Path.GetTempPath().TrimEnd('/'), text);
        AssertPlanted(manifest.Findings, truth);
        ManifestSnapshot.Match(text, preset);
    }

    [Fact]
    public void Analyzing_twice_gives_byte_identical_manifests()
    {
        var (folder, _) = _presets.Get("all-h64-s1");
        Assert.Equal(PresetManifests.Analyze(folder).Text, PresetManifests.Analyze(folder).Text);
    }

    private static void AssertPlanted(ManifestFindings f, SyntheticGroundTruth truth)
    {
        if (truth.MassiveActivation is { } ma)
        {
            BirthRecord birth = Assert.Single(f.Births);
            Assert.Equal((ma.BirthLayer, "y6", ma.Neuron, ma.Channel, ma.TokenPosition, ma.TokenId),
                (birth.Layer, birth.Site, birth.Channel, birth.ResidualChannel, birth.TokenPosition, birth.TokenId));
            SuperWeightRecord weight = Assert.Single(f.SuperWeights);
            Assert.Equal((ma.SuperWeight.Layer, ma.SuperWeight.Tensor, ma.SuperWeight.Row, ma.SuperWeight.Column),
                (weight.Layer, weight.Tensor, weight.Row, weight.Column));
            Assert.All(f.MassiveActivations, a => Assert.Equal(ma.TokenPosition, a.TokenPosition));
            Assert.Contains(f.MassiveActivations, a => a.Kind == MassiveActivationRecord.Birth && a.Layer == ma.BirthLayer && a.Site == "y6");
            Assert.DoesNotContain(f.MassiveActivations, a => a.Layer < ma.BirthLayer);
            PropagationRecord propagation = Assert.Single(f.Propagation);
            Assert.Equal(ma.Channel, propagation.Channel);
        }
        else
        {
            Assert.Empty(f.MassiveActivations);
            Assert.Empty(f.Births);
            Assert.Empty(f.SuperWeights);
            Assert.Empty(f.Propagation);
        }

        var gammaChannels = f.ChannelOutliers.Where(c => c.Cause == ChannelOutlierRecord.Gamma)
            .Select(c => (c.Layer, c.Site, c.Channel)).Distinct().Order().ToArray();
        var plantedGamma = truth.GammaOutliers.SelectMany(g => g.Channels.Select(ch => (g.Layer, g.Site, ch))).Distinct().Order().ToArray();
        Assert.Equal(plantedGamma, gammaChannels);

        // OTCs: the planted rows (reading A) and columns (reading B) of every query plant, nothing else.
        var plantedOtcs = truth.QueryOutliers
            .SelectMany(q => q.Rows.Select(r => (q.Layer, OtcRecord.Row, r)).Concat(q.Columns.Select(c => (q.Layer, OtcRecord.Column, c))))
            .Order().ToArray();
        var foundOtcs = f.OutlierTriggeringChannels.Select(o => (o.Layer, o.Reading, o.Index)).Order().ToArray();
        Assert.Equal(plantedOtcs, foundOtcs);
        var plantedCoRows = truth.QueryOutliers.SelectMany(q => q.Rows.Select(r => (q.Layer, q.Site, r))).Order().ToArray();
        var otcCaused = f.ChannelOutliers.Where(c => c.Cause == ChannelOutlierRecord.OtcCause).Select(c => (c.Layer, c.Site, c.Channel)).Order().ToArray();
        Assert.Equal(plantedCoRows, otcCaused);

        if (truth.IsClean)
        {
            Assert.Empty(f.ChannelOutliers);
            Assert.Empty(f.OutlierTriggeringChannels);
        }
        else
        {
            Assert.DoesNotContain(f.ChannelOutliers, c => c.Cause == ChannelOutlierRecord.Unknown);
        }
    }
}
