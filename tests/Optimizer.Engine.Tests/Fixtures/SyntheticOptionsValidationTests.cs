using Optimizer.Engine.Formats;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Fixtures;

/// <summary>Invalid or conflicting options are refused with an <see cref="ArgumentException"/> before anything is written.</summary>
public class SyntheticOptionsValidationTests
{
    private static readonly SyntheticModelOptions Base = new();
    private static readonly MassiveActivationPlant Ma = new(1, 10, 5);

    public static TheoryData<string, SyntheticModelOptions> InvalidOptions() => new()
    {
        { "hidden too small", Base with { HiddenSize = 4 } },
        { "heads do not divide hidden", Base with { Heads = 6, KeyValueHeads = 6 } },
        { "odd head size", Base with { HiddenSize = 24, Heads = 8, KeyValueHeads = 8 } },
        { "kv heads do not divide heads", Base with { KeyValueHeads = 3 } },
        { "more kv heads than heads", Base with { KeyValueHeads = 8 } },
        { "no layers", Base with { Layers = 0 } },
        { "integer dtype", Base with { WeightDType = DType.I8 } },
        { "unknown architecture", Base with { Architecture = (SyntheticArchitecture)7 } },
        { "zero eps", Base with { RmsNormEps = 0 } },
        { "negative rope theta", Base with { RopeTheta = -1 } },
        { "MA layer", Base with { MassiveActivation = Ma with { Layer = 4 } } },
        { "MA neuron", Base with { MassiveActivation = Ma with { Neuron = 172 } } },
        { "MA channel", Base with { MassiveActivation = Ma with { Channel = -1 } } },
        { "MA too small", Base with { MassiveActivation = Ma with { ResidualValue = 90 } } },
        { "super activation too large", Base with { MassiveActivation = Ma with { SuperActivation = 9000 } } },
        { "γ no channels", Base with { GammaOutliers = new[] { new GammaOutlierPlant(0, PlantedNorm.Ffn, Array.Empty<int>()) } } },
        { "γ duplicate channel", Base with { GammaOutliers = new[] { new GammaOutlierPlant(0, PlantedNorm.Ffn, new[] { 3, 3 }) } } },
        { "γ channel range", Base with { GammaOutliers = new[] { new GammaOutlierPlant(0, PlantedNorm.Ffn, new[] { 64 }) } } },
        { "γ scale", Base with { GammaOutliers = new[] { new GammaOutlierPlant(0, PlantedNorm.Ffn, new[] { 3 }, 1.0) } } },
        { "γ layer", Base with { GammaOutliers = new[] { new GammaOutlierPlant(9, PlantedNorm.Attention, new[] { 3 }) } } },
        { "γ too many channels", Base with { GammaOutliers = new[] { new GammaOutlierPlant(0, PlantedNorm.Ffn, Enumerable.Range(0, 40).ToArray()) } } },
        {
            "γ channel planted twice", Base with
            {
                GammaOutliers = new[] { new GammaOutlierPlant(1, PlantedNorm.Ffn, new[] { 3 }), new GammaOutlierPlant(1, PlantedNorm.Ffn, new[] { 4, 3 }) },
            }
        },
        { "γ on the MA channel downstream", Base with { MassiveActivation = Ma, GammaOutliers = new[] { new GammaOutlierPlant(2, PlantedNorm.Attention, new[] { 5 }) } } },
        { "OTC head", Base with { QueryOutliers = new[] { QueryOutlierPlant.Rows(0, head: 4, pairs: new[] { 1 }) } } },
        { "OTC pair range", Base with { QueryOutliers = new[] { QueryOutlierPlant.Rows(0, head: 0, pairs: new[] { 8 }) } } },
        { "OTC column range", Base with { QueryOutliers = new[] { QueryOutlierPlant.Columns(0, new[] { 64 }) } } },
        { "OTC scale", Base with { QueryOutliers = new[] { QueryOutlierPlant.Columns(0, new[] { 1 }, scale: 0.5) } } },
        { "OTC unknown reading", Base with { QueryOutliers = new[] { new QueryOutlierPlant((QueryOutlierReading)5, 0, 0, new[] { 1 }, 20) } } },
        {
            "OTC row planted twice", Base with
            {
                QueryOutliers = new[] { QueryOutlierPlant.Rows(1, 0, new[] { 2 }), QueryOutlierPlant.Rows(1, 0, new[] { 2 }) },
            }
        },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void InvalidOptionsAreRefused(string why, SyntheticModelOptions options)
    {
        using var temp = new Formats.TempFolder();
        var ex = Assert.ThrowsAny<ArgumentException>(() => new SyntheticModelBuilder(options).Build(temp.Path));
        Assert.False(string.IsNullOrWhiteSpace(ex.Message), why);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void GammaOnTheMassiveChannelBeforeItIsBornIsAllowed()
    {
        var options = Base with
        {
            MassiveActivation = Ma,
            GammaOutliers = new[] { new GammaOutlierPlant(1, PlantedNorm.Ffn, new[] { 5 }, 20) },
        };
        var truth = new SyntheticModelBuilder(options).Generate().GroundTruth;
        Assert.Equal(new[] { 5 }, truth.GammaOutliers[0].Channels);
        Assert.All(truth.MassiveActivation!.Sites, s => Assert.True(s.IsMassive));
    }

    [Fact]
    public void UnknownPresetIsRefused() =>
        Assert.Throws<ArgumentException>(() => SyntheticModelBuilder.Presets.Named("no-such-preset"));

    [Fact]
    public void PresetNamesAreUniqueAndCoverEveryMechanismAndSize()
    {
        var all = SyntheticModelBuilder.Presets.All;
        Assert.Equal(all.Count, all.Select(p => p.Name).Distinct().Count());
        Assert.Contains(all, p => !p.Options.HasPlants);
        Assert.Contains(all, p => p.Options.MassiveActivation is not null && p.Options.GammaOutliers.Count == 0 && p.Options.QueryOutliers.Count == 0);
        Assert.Contains(all, p => p.Options.MassiveActivation is null && p.Options.GammaOutliers.Count > 0 && p.Options.QueryOutliers.Count == 0);
        Assert.Contains(all, p => p.Options.MassiveActivation is null && p.Options.GammaOutliers.Count == 0 && p.Options.QueryOutliers.Count > 0);
        Assert.Contains(all, p => p.Options.MassiveActivation is not null && p.Options.GammaOutliers.Count > 0 && p.Options.QueryOutliers.Count > 0);
        Assert.Equal(SyntheticModelBuilder.Presets.HiddenSizes, all.Select(p => p.Options.HiddenSize).Distinct().Order());
        Assert.True(all.Select(p => p.Options.Seed).Distinct().Count() >= 3);
        foreach (var (name, options) in all) options.Validate();
    }
}
