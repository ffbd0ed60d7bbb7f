using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Fixtures;

/// <summary>
/// The planted mechanisms of every preset really appear, and nothing else does, in an independent float64 forward
/// (<see cref="Float64SiteDecoder"/>) of the written files over English text.
/// </summary>
[Collection(SyntheticPresetCollection.Name)]
public class PlantedMechanismReferenceTests(SyntheticPresetFolders presets)
{
    public static TheoryData<string> PresetNames() => new(SyntheticModelBuilder.Presets.All.Select(p => p.Name));

    public static TheoryData<string> MassivePresetNames() =>
        new(SyntheticModelBuilder.Presets.All.Where(p => p.Options.MassiveActivation is not null).Select(p => p.Name));

    [Theory]
    [MemberData(nameof(PresetNames))]
    public void ExactlyThePlantedOutliersAppear(string preset)
    {
        var (folder, truth) = presets.Get(preset);
        var config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        using var weights = SafetensorsFile.Open(Path.Combine(folder, SyntheticModel.WeightsFileName));
        var acts = Float64SiteDecoder.Run(config, weights, CalibrationTokens.Sequence());

        PlantedAssertions.MassiveActivationsAreExactlyThePlanted(truth, acts, relativeTolerance: 1e-9);
        PlantedAssertions.ChannelOutliersAreExactlyThePlanted(truth, acts);
        PlantedAssertions.QueryColumnsDominateExactlyWherePlanted(truth, acts, weights);
        if (truth.MassiveActivation is { } ma)
        {
            PlantedAssertions.MassiveActivationIsBornAtDownProjInput(truth, acts);
            PlantedNeuronIsSilentForEveryOtherToken(ma, acts);
        }
    }

    /// <summary>The planted neuron fires (with the recorded gate value) on BOS only.</summary>
    private static void PlantedNeuronIsSilentForEveryOtherToken(MassiveActivationTruth ma, SiteActivations acts)
    {
        var y6 = acts[ma.BirthLayer, ProbeSites.Id(ProbeSite.Y6)];
        Assert.Equal(ma.Sites[0].Value, y6[0][ma.Neuron], 1e-6 * Math.Abs(ma.Sites[0].Value));
        for (int t = 1; t < y6.Length; t++)
            Assert.True(Math.Abs(y6[t][ma.Neuron]) < 0.01, $"token {t}: y6[{ma.Neuron}] = {y6[t][ma.Neuron]:G4}");
        var gate = acts[ma.BirthLayer, ProbeSites.Id(ProbeSite.Y3)];
        Assert.Equal(ma.GateValue, gate[0][ma.Neuron], 1e-6 * Math.Abs(ma.GateValue));
    }

    [Theory]
    [MemberData(nameof(MassivePresetNames))]
    public void PresetMassiveActivationRidesTheResidualToTheLastLayer(string preset)
    {
        var (_, truth) = presets.Get(preset);
        var ma = truth.MassiveActivation!;
        int last = truth.Model.Layers - 1;
        Assert.All(ma.Sites, s => Assert.True(s.IsMassive, $"layer {s.Layer} {s.Site}: ratio {s.Ratio:G4}"));
        Assert.Contains(new PropagationRange(ProbeSites.Id(ProbeSite.Y8), ma.Channel, ma.BirthLayer, last), ma.Propagation);
        Assert.Contains(new PropagationRange(ProbeSites.Id(ProbeSite.AttnY1), ma.Channel, ma.BirthLayer + 1, last), ma.Propagation);
        Assert.Contains(new PropagationRange(ProbeSites.Id(ProbeSite.Y1), ma.Channel, ma.BirthLayer + 1, last), ma.Propagation);
        Assert.Equal(3, ma.Propagation.Count);
        Assert.True(ma.SuperWeight.ColumnRatio > 100, $"super weight is only {ma.SuperWeight.ColumnRatio:G3}× the rest of its column");
    }

    [Theory]
    [MemberData(nameof(PresetNames))]
    public void OnlyPlantedGammasStandOut(string preset)
    {
        var (folder, truth) = presets.Get(preset);
        using var weights = SafetensorsFile.Open(Path.Combine(folder, SyntheticModel.WeightsFileName));
        var planted = truth.GammaOutliers.ToDictionary(g => g.Tensor);
        foreach (var info in weights.Tensors.Where(t => t.Name.EndsWith("norm.weight", StringComparison.Ordinal)))
        {
            float[] gamma = TensorData.ReadFloat32(weights, info);
            double median = OutlierCensus.LowerMedianAbs(gamma.Select(g => (double)g).ToArray());
            var outliers = Enumerable.Range(0, gamma.Length).Where(c => Math.Abs(gamma[c]) / median > 5).ToArray();
            if (planted.TryGetValue(info.Name, out var g))
            {
                Assert.Equal(g.Channels, outliers);
                for (int i = 0; i < g.Channels.Count; i++)
                    Assert.Equal(g.RequestedScale, Math.Abs(gamma[g.Channels[i]]) / median, 0.02 * g.RequestedScale);
            }
            else
            {
                Assert.Empty(outliers);
                Assert.True(gamma.Max(x => Math.Abs(x)) / median < 1.2, $"{info.Name}: γ spread too wide");
            }
        }
    }
}
