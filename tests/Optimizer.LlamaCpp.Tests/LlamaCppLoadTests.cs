using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Xunit.Abstractions;
using Optimizer.LlamaCpp;

namespace Optimizer.LlamaCpp.Tests;

/// <summary>Every GGUF the exporter writes loads in llama.cpp and runs.</summary>
public sealed class LlamaCppLoadTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(GgufExports.Austen, "F32")]
    [InlineData(GgufExports.Austen, "F16")]
    [InlineData(GgufExports.Austen, "Q8_0")]
    [InlineData(GgufExports.Austen, "Q4_0")]
    [InlineData(GgufExports.Austen, "Q4_K_S")]
    [InlineData(GgufExports.Austen, "Q4_K_M")]
    [InlineData(GgufExports.Austen, "Q2_K")]
    [InlineData(GgufExports.Austen, "Q3_K_M")]
    [InlineData(GgufExports.Austen, "Q5_K_M")]
    [InlineData(GgufExports.Austen, "Q6_K")]
    [InlineData(GgufExports.Qwen2, "F16")]
    [InlineData(GgufExports.Qwen2, "Q8_0")]
    [InlineData(GgufExports.Qwen2, "Q4_K_M")]
    [InlineData(GgufExports.Qwen2, "Q5_0")]
    [InlineData(GgufExports.Qwen3, "Q4_K_M")]
    [InlineData(GgufExports.Qwen3, "Q8_0")]
    [InlineData(GgufExports.Llama3, "Q4_K_M")]
    [InlineData(GgufExports.Llama3, "Q4_0")]
    [InlineData(GgufExports.Phi3, "Q4_K_M")]
    [InlineData(GgufExports.Phi3, "Q8_0")]
    [InlineData(GgufExports.Phi4, "Q4_K_M")]
    [InlineData(GgufExports.Tied, "Q4_0")]
    [InlineData(GgufExports.Tied, "Q4_K")] // llama-quantize's alias of Q4_K_M
    [InlineData(GgufExports.Untied, "BF16")]
    [InlineData(GgufExports.Untied, "Q4_1")]
    [InlineData(GgufExports.Untied, "Q5_1")]
    public void ExportLoadsAndRuns(string model, string recipe)
    {
        var export = GgufExports.Export(model, recipe);
        using var folder = ModelFolder.Open(GgufExports.ModelPath(model));
        int[] ids = folder.Tokenizer.Encode(LlamaCppLogitTests.Text, addBos: true);
        using var session = new LlamaCppSession(export.Path);
        Assert.Equal(folder.Config.VocabSize, session.VocabSize);
        var (nll, scored) = session.Nll(ids);
        Assert.True(double.IsFinite(nll), $"{model} {recipe}: llama.cpp produced non-finite logits");
        using var reference = new LlamaCppSession(GgufExports.Export(model, "F32").Path);
        var (referenceNll, _) = reference.Nll(ids);
        double change = nll / referenceNll - 1;
        string types = string.Join(", ", export.Tensors.GroupBy(t => t.Type).Select(g => $"{g.Count()} {g.Key}"));
        output.WriteLine($"{model} {recipe}: {export.FileBytes} bytes ({types}); mean NLL {nll / scored:F4} vs F32 {referenceNll / scored:F4} ({change:P2})");
        using var file = GgufFile.Open(export.Path);
        Assert.Equal((uint)export.FileType, file.Metadata.Get("general.file_type").Value);
        if (model == GgufExports.Austen)
            Assert.True(Math.Abs(change) < (recipe is "F16" or "Q8_0" or "F32" ? 0.01 : 0.10), $"{model} {recipe}: NLL changed {change:P2} against F32");
    }
}
