using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Model;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Tests.Fixtures;
using Optimizer.Engine.Tests.Model;
using Optimizer.Fixtures;
using Xunit.Abstractions;

namespace Optimizer.Engine.Tests.Gguf;

/// <summary>A Gemma GGUF written by the exporter reads back as the same model: config as llama.cpp runs it, γ from 1 + γ, same logits.</summary>
public sealed class GemmaGgufInputTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(GemmaFamily.Gemma2)]
    [InlineData(GemmaFamily.Gemma3)]
    public void ExportedGemmaReadsBackAsTheSameModel(GemmaFamily family)
    {
        string gguf = Path.Combine(Path.GetTempPath(), $"oopt-gemma-input-{Guid.NewGuid():N}.gguf");
        try
        {
            using var source = ModelFolder.Open(GemmaModelTests.Folder(family));
            LlamaGgufExporter.Export(source, source.Weights, QuantizationRecipe.Parse("F32"), gguf, null, CancellationToken.None);
            using var read = GgufModelReader.Open(gguf);
            ModelConfig a = source.Config, b = read.Config;
            Assert.Equal(a.ModelType, b.ModelType);
            Assert.Equal((a.HeadDim, a.SlidingWindow, a.QueryPreAttnScalar, a.AttnLogitSoftcapping, a.FinalLogitSoftcapping, a.TieWordEmbeddings),
                (b.HeadDim, b.SlidingWindow, b.QueryPreAttnScalar, b.AttnLogitSoftcapping, b.FinalLogitSoftcapping, b.TieWordEmbeddings));
            for (int layer = 0; layer < a.NumHiddenLayers; layer++)
                Assert.Equal((a.IsSlidingLayer(layer), a.RopeBase(layer), a.RopeFactor(layer)), (b.IsSlidingLayer(layer), b.RopeBase(layer), b.RopeFactor(layer)));

            string norm = LlamaTensorNames.Name(TensorRole.PostFfnNorm, 1, a);
            float[] gamma = TensorData.ReadFloat32(source.Weights, source.Weights.Find(norm)!);
            float[] back = TensorData.ReadFloat32(read.Weights, read.Weights.Find(norm)!);
            Assert.Equal(gamma.Select(g => 1f + g), back.Select(g => 1f + g));

            int[] tokens = CalibrationTokens.Sequence(24);
            float[] expected, actual;
            using (var model = LlamaModel.Create(a, source.Weights, new ModelOptions()))
            using (var logits = model.Forward(new[] { tokens }))
                expected = logits.data<float>().ToArray();
            using (var model = LlamaModel.Create(b, read.Weights, new ModelOptions()))
            using (var logits = model.Forward(new[] { tokens }))
                actual = logits.data<float>().ToArray();
            double maxDiff = expected.Zip(actual, (x, y) => Math.Abs(x - y)).Max();
            output.WriteLine($"{family}: GGUF input vs HF input max |Δlogit| {maxDiff:E3}");
            Assert.True(maxDiff <= 1e-6 * expected.Max(Math.Abs), $"max |Δlogit| {maxDiff}");
        }
        finally
        {
            File.Delete(gguf);
        }
    }
}
