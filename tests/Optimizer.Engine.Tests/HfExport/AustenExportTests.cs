using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.HfExport;
using Optimizer.Engine.Model;
using Optimizer.Engine.Tests.Manifest;

namespace Optimizer.Engine.Tests.HfExport;

/// <summary>The trained fixture exported as int8 and int4: error bands of real weights, file sizes, and re-opened logits.</summary>
public sealed class AustenExportTests : IDisposable
{
    private readonly ExportFolder _temp = new();

    [Theory]
    [InlineData(HfWeightFormat.Int8, 128, 0.006, 0.009, 4_660_000, 4_670_000)]
    [InlineData(HfWeightFormat.Int4, 128, 0.11, 0.135, 2_525_000, 2_540_000)]
    [InlineData(HfWeightFormat.Int4, 32, 0.088, 0.108, 2_730_000, 2_740_000)]
    public void FixtureExportHasTheMeasuredErrorAndSizeAndReopensLikeTheRoundTrip(HfWeightFormat format, int group, double minRmse, double maxRmse, long minBytes, long maxBytes)
    {
        using var model = ModelFolder.Open(RepositoryPaths.AustenFixture);
        var options = new HfExportOptions { Format = format, GroupSize = group };
        var result = HfFolderExporter.Export(model, model.Weights, options, _temp.Output("austen"));
        var roundTrip = options.CreateRoundTrip(model.Config)!;

        var quantized = result.Tensors.Where(t => roundTrip.Quantizes(t.Name)).ToList();
        Assert.Equal(6 * 7, quantized.Count);
        Assert.All(quantized, t => Assert.InRange(t.RelativeRmse, minRmse, maxRmse));
        Assert.InRange(result.Files.Single(f => f.RelativePath == SafetensorsCheckpoint.SingleFileName).Bytes, minBytes, maxBytes);

        using var fake = new FakeQuantizedWeights(model.Weights, roundTrip);
        using var exported = ModelFolder.Open(_temp.Output("austen"));
        int[] tokens = exported.Tokenizer.Encode("It is a truth universally acknowledged, that a single man in possession", addBos: true);
        Assert.Equal(Logits(model.Config, fake, tokens), Logits(exported.Config, exported.Weights, tokens));
    }

    private static float[] Logits(ModelConfig config, ITensorSource weights, int[] tokens)
    {
        using var model = LlamaModel.Create(config, weights, new ModelOptions());
        using var logits = model.Forward(new[] { tokens });
        return logits.data<float>().ToArray();
    }

    public void Dispose() => _temp.Dispose();
}
