using Optimizer.Engine;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Quantization;
using Optimizer.Fixtures;
using Xunit.Abstractions;
using Optimizer.LlamaCpp;

namespace Optimizer.LlamaCpp.Tests;

/// <summary>Gemma 2 / Gemma 3 GGUF exports: quantized files load and generate in llama.cpp; configs llama.cpp would run differently are refused.</summary>
public sealed class LlamaCppGemmaTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(GgufExports.Gemma2)]
    [InlineData(GgufExports.Gemma3)]
    public void Q4KMLoadsAndGenerates(string model)
    {
        var export = GgufExports.Export(model, "Q4_K_M");
        using var folder = ModelFolder.Open(GgufExports.ModelPath(model));
        int[] ids = folder.Tokenizer.Encode(LlamaCppLogitTests.Text, addBos: true);
        using var session = new LlamaCppSession(export.Path, 512);
        Assert.Equal(folder.Config.VocabSize, session.VocabSize);
        var (nll, scored) = session.Nll(ids);
        using var reference = new LlamaCppSession(GgufExports.Export(model, "F32").Path);
        var (referenceNll, _) = reference.Nll(ids);
        output.WriteLine($"{model} Q4_K_M: {export.FileBytes} bytes; mean NLL {nll / scored:F4} vs F32 {referenceNll / scored:F4}");
        Assert.True(double.IsFinite(nll));
        Assert.True(Math.Abs(nll / referenceNll - 1) < 0.10, $"Q4_K_M NLL {nll / scored:F4} is far from F32 {referenceNll / scored:F4}");

        // Greedy generation past the sliding window: every step yields finite logits and a valid token.
        var tokens = ids.Take(8).ToList();
        float[] logits = session.Continue(tokens, 0);
        for (int i = 0; i < 24; i++)
        {
            Assert.All(logits, l => Assert.True(float.IsFinite(l)));
            int next = LlamaCppLogitTests.ArgMax(logits);
            Assert.InRange(next, 0, folder.Config.VocabSize - 1);
            tokens.Add(next);
            logits = session.Continue(new[] { next }, tokens.Count - 1);
        }
        output.WriteLine($"{model}: generated {string.Join(" ", tokens.Skip(8))}");
    }

    [Theory]
    [InlineData(GgufExports.Gemma2, "gemma2")]
    [InlineData(GgufExports.Gemma3, "gemma3")]
    public void NormWeightsAreStoredAsOnePlusGamma(string model, string arch)
    {
        var export = GgufExports.Export(model, "F32");
        using var folder = ModelFolder.Open(GgufExports.ModelPath(model));
        using var file = GgufFile.Open(export.Path);
        Assert.Equal(arch, file.Metadata.Get("general.architecture").Value);
        Assert.Equal((uint)folder.Config.SlidingWindow!.Value, file.Metadata.Get(arch + ".attention.sliding_window").Value);
        Assert.Equal((uint)64, file.Metadata.Get(arch + ".attention.key_length").Value);
        foreach (var (hf, gguf) in new[] { ("model.layers.1.post_feedforward_layernorm.weight", "blk.1.post_ffw_norm.weight"),
                     ("model.layers.0.pre_feedforward_layernorm.weight", "blk.0.ffn_norm.weight"), ("model.norm.weight", "output_norm.weight") })
        {
            float[] gamma = TensorData.ReadFloat32(folder.Weights, folder.Weights.Find(hf)!);
            float[] stored = ReadF32(file, export.Path, gguf);
            Assert.Equal(GgmlType.F32, file.Find(gguf)!.Type);
            Assert.Equal(gamma.Select(g => 1f + g), stored);
        }
        Assert.Null(file.Find("output.weight"));
    }

    [Fact]
    public void ConfigsLlamaCppRunsDifferentlyAreRefused()
    {
        string root = Directory.CreateTempSubdirectory("oopt-gemma-refuse-").FullName;
        try
        {
            var cases = new (string Name, GemmaSyntheticOptions Options, string Mention)[]
            {
                ("scalar", GemmaSyntheticOptions.Gemma2Model() with { QueryPreAttnScalar = 100, MassiveLayer = null, Layers = 2 }, "query_pre_attn_scalar"),
                ("pattern", GemmaSyntheticOptions.Gemma3Model() with { SlidingWindowPattern = 2, MassiveLayer = null, Layers = 2 }, "pattern"),
                ("local-base", GemmaSyntheticOptions.Gemma3Model() with { RopeLocalBaseFreq = 20000, MassiveLayer = null, Layers = 2 }, "rope_local_base_freq"),
                ("softcap", GemmaSyntheticOptions.Gemma3Model() with { FinalLogitSoftcapping = 30, MassiveLayer = null, Layers = 2 }, "final_logit_softcapping"),
            };
            foreach (var (name, options, mention) in cases)
            {
                string folderPath = Path.Combine(root, name);
                GemmaSyntheticModel.Write(options, folderPath);
                using var folder = ModelFolder.Open(folderPath);
                string target = Path.Combine(root, name + ".gguf");
                var error = Assert.Throws<OptimizerException>(() => LlamaGgufExporter.Export(folder, folder.Weights, QuantizationRecipe.Parse("F32"), target, null, CancellationToken.None));
                output.WriteLine($"{name}: {error.Code} {error.Message}");
                Assert.Equal(ErrorCodes.GgufArchitectureUnsupported, error.Code);
                Assert.Contains(mention, error.Message);
                Assert.False(File.Exists(target));
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static float[] ReadF32(GgufFile file, string path, string name)
    {
        var info = file.Find(name) ?? throw new InvalidOperationException(name + " missing");
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.GetSpan(info)).ToArray();
    }
}
