using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Fixtures;

/// <summary>
/// The engine's TorchSharp decoder, run over the written synthetic models with its probes, sees exactly the planted
/// mechanisms: per-site statistics (<see cref="ActivationStatistics"/>) and full captured activations are compared
/// with the ground truth.
/// </summary>
[Collection(SyntheticPresetCollection.Name)]
public class PlantedMechanismEngineTests(SyntheticPresetFolders presets)
{
    public static TheoryData<string> PresetNames() => PlantedMechanismReferenceTests.PresetNames();

    [Theory]
    [MemberData(nameof(PresetNames))]
    public void EngineForwardShowsExactlyThePlantedOutliers(string preset)
    {
        var (folder, truth) = presets.Get(preset);
        var config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        using var weights = SafetensorsFile.Open(Path.Combine(folder, SyntheticModel.WeightsFileName));
        using var model = LlamaModel.Create(config, weights, new ModelOptions());
        var statistics = new ActivationStatistics();
        var capture = new CapturingSiteProbe();
        int[] tokens = CalibrationTokens.Sequence();
        using (var logits = model.Forward(new[] { tokens }, new CompositeProbe(statistics, capture)))
            Assert.Equal(new long[] { 1, tokens.Length, SyntheticModelOptions.VocabSize }, logits.shape);

        PlantedAssertions.MassiveActivationsAreExactlyThePlanted(truth, capture.Activations, relativeTolerance: 1e-3);
        PlantedAssertions.ChannelOutliersAreExactlyThePlanted(truth, capture.Activations);
        PlantedAssertions.QueryColumnsDominateExactlyWherePlanted(truth, capture.Activations, weights);
        if (truth.MassiveActivation is not null) PlantedAssertions.MassiveActivationIsBornAtDownProjInput(truth, capture.Activations);
        StatisticsShowExactlyThePlantedMassiveActivations(truth, config, statistics);
    }

    /// <summary>The streaming statistics (top-k entries and per-token medians) find the same MAs and nothing else above 100.</summary>
    private static void StatisticsShowExactlyThePlantedMassiveActivations(SyntheticGroundTruth truth, ModelConfig config, ActivationStatistics statistics)
    {
        var expected = (truth.MassiveActivation?.Sites ?? Array.Empty<MassiveActivationSite>())
            .Where(s => s.IsMassive)
            .ToDictionary(s => (s.Layer, s.Site));
        int sites = 0;
        foreach (var stats in statistics.Sites)
        {
            sites++;
            float[] medians = stats.TokenMedianAbs.ToArray();
            var massive = stats.Top
                .Where(e => e.Magnitude > MassiveActivationSite.AbsoluteThreshold
                            && e.Magnitude >= MassiveActivationSite.RelativeThreshold * medians[e.TokenIndex])
                .ToList();
            if (expected.TryGetValue((stats.Layer, stats.SiteId), out var site))
            {
                var entry = Assert.Single(massive);
                Assert.Equal((0, (long)ByteLevelVocabulary.BosId, site.Index), (entry.Position, entry.TokenId, entry.Channel));
                Assert.Equal(site.Value, entry.Value, 1e-3 * Math.Abs(site.Value));
                Assert.True(stats.Top[1].Magnitude <= MassiveActivationSite.AbsoluteThreshold,
                    $"layer {stats.Layer} {stats.SiteId}: second largest |x| {stats.Top[1].Magnitude}");
            }
            else
            {
                Assert.True(stats.MaxAbs <= MassiveActivationSite.AbsoluteThreshold,
                    $"layer {stats.Layer} {stats.SiteId}: max |x| {stats.MaxAbs} where no MA is planted");
            }
        }
        Assert.Equal(truth.Model.Layers * ProbeSites.For(config).Count, sites);
    }
}
