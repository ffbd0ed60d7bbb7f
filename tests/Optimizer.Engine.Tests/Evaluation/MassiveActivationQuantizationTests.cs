using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Evaluation;

/// <summary>
/// A planted massive activation (super activation 1000 at the BOS token's down_proj input) stretches a per-tensor static
/// A8 range so far that ordinary tokens lose their resolution there; per-token dynamic scales give each token its own.
/// </summary>
public sealed class MassiveActivationQuantizationTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "oopt-eval-ma-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void PerTensorStaticA8IsMuchWorseThanPerTokenDynamicA8()
    {
        var truth = new SyntheticModelBuilder(SyntheticModelBuilder.Presets.MassiveActivationOnly(1, 64)).Build(_folder);
        using var folder = ModelFolder.Open(_folder);
        int bos = folder.Config.BosTokenId!.Value;
        using var reference = LlamaModel.Create(folder.Config, folder.Weights, new ModelOptions());

        // Calibration: BOS-prefixed byte sequences, as analyze and eval build them.
        int[] Sequence(string text) => new[] { bos }.Concat(folder.Tokenizer.Encode(text, addBos: false)).ToArray();
        var calibration = new[]
        {
            Sequence("It is a truth universally acknowledged, that a single man"),
            Sequence("in possession of a good fortune, must be in want of a wife."),
        };
        var scales = StaticActivationScales.Calibrate(reference, calibration);
        var plant = truth.MassiveActivation!;
        float downInput = scales.MaxAbs(plant.BirthLayer, ProbeSite.Y6);
        Assert.True(downInput > 100, $"the super activation sets the down_proj input range: {downInput}");

        using var staticA8 = LlamaModel.Create(folder.Config, folder.Weights, new ModelOptions
        {
            ActivationQuantization = new ActivationQuantization(8, ActivationQuantMode.PerTensorStatic, scales),
        });
        using var dynamicA8 = LlamaModel.Create(folder.Config, folder.Weights, new ModelOptions
        {
            ActivationQuantization = new ActivationQuantization(8, ActivationQuantMode.PerTokenDynamic),
        });
        int[] text = folder.Tokenizer.Encode("However little known the feelings or views of such a man may be on his first entering a neighbourhood.", addBos: false);
        var results = ModelComparison.Compare(reference, new[] { ("static", staticA8), ("dynamic", dynamicA8) }, text,
            new PerplexityOptions { Context = 64, BatchSize = 2 });

        ComparisonResult stat = results[0], dyn = results[1];
        Assert.True(stat.MeanKlDivergence > 10 * dyn.MeanKlDivergence, $"static {stat} vs dynamic {dyn}");
        Assert.True(dyn.MeanKlDivergence < 0.01, $"dynamic A8 stays close to the float model: {dyn}");
        Assert.True(dyn.Top1Agreement >= stat.Top1Agreement);
    }
}
