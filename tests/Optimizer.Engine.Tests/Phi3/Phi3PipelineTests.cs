using System.Text;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Pipeline;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Tests.Fixtures;
using Optimizer.Engine.Tests.Formats;
using Xunit.Abstractions;

namespace Optimizer.Engine.Tests.Phi3;

/// <summary>
/// The whole <c>optimize</c> pipeline on phi3 models (docs/model-families.md, "Phi-3"): analysis, every mitigation,
/// evaluation of every candidate (the round trip quantizes each part in the type of the fused tensor it is written
/// into) and the GGUF written in llama.cpp's phi3 layout, including error-compensated encodings of the parts.
/// </summary>
public sealed class Phi3PipelineTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(Phi3Tests.Phi4, "Q4_K_M")]
    [InlineData(Phi3Tests.Window, "Q8_0")]
    public void OptimizeWritesAPhi3Gguf(string variant, string quant)
    {
        using var temp = new TempFolder();
        string model = Directory.CreateDirectory(temp.File(variant)).FullName;
        Phi3Tests.Variant(variant).Build(model);
        string calibration = temp.Write("calibration.txt", CalibrationTokens.Text);
        string eval = temp.Write("eval.txt", "Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition, seemed to unite some of the best blessings of existence.");
        string outputFolder = temp.File("out");
        var result = OptimizePipeline.Run(new OptimizeOptions
        {
            Model = model,
            Output = outputFolder,
            Quant = quant,
            Calibration = new[] { calibration },
            EvalText = eval,
            CalibrationTokens = 96,
            SequenceLength = 48,
            EvalTokens = 94,
            BatchSize = 4,
            ToolVersion = "0.0.0-test",
            MitigationsExplicit = true,
        });
        foreach (var v in result.Variants)
            output.WriteLine($"{variant} {quant} {v.Name}: KL {v.KlDivergence:E3}, perplexity {v.Perplexity:F3}{(v.Selected ? " (written)" : "")}");
        Assert.All(result.Variants, v => Assert.True(double.IsFinite(v.Perplexity) && v.Perplexity > 1, v.Name));
        var transformed = Assert.Single(result.Variants, v => v.Name == "transformed");
        Assert.True(transformed.KlDivergence < 1e-6, $"transformed KLD {transformed.KlDivergence}");
        Assert.Contains(result.Variants, v => v.Name == "mitigated-compensated");
        // The manifest is schema-valid and names the longrope scaling of the Phi-4-like model.
        string manifest = File.ReadAllText(result.Outputs[^1].Path);
        var errors = Optimizer.Engine.Tests.Manifest.ManifestSchemaValidator.Errors(manifest);
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(10)));
        Assert.Equal(variant == Phi3Tests.Phi4 ? "longrope" : null, result.Manifest!.Model.Architecture.RopeScaling);
        var gguf = result.Outputs[0].Path;
        using var file = GgufFile.Open(gguf);
        Assert.Equal("phi3", file.Metadata.GetString("general.architecture"));
        var recipe = QuantizationRecipe.Parse(quant);
        using var source = ModelFolder.Open(model);
        for (int layer = 0; layer < source.Config.NumHiddenLayers; layer++)
        {
            Assert.Null(file.Find($"blk.{layer}.attn_q.weight"));
            Assert.Equal(recipe.TypeFor("", TensorRole.V, layer, new long[] { 1, source.Config.HiddenSize }, source.Config), file.Find($"blk.{layer}.attn_qkv.weight")!.Type);
        }
    }
}
