using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Xunit.Abstractions;
using Optimizer.LlamaCpp;

namespace Optimizer.LlamaCpp.Tests;

/// <summary>llama.cpp's logits on the exporter's F32 GGUF files match the engine's logits on the source model.</summary>
public sealed class LlamaCppLogitTests(ITestOutputHelper output)
{
    /// <summary>
    /// Largest |llama.cpp − engine| logit difference accepted, relative to the largest |logit| of the sequence.
    /// Measured (F32 KV cache): fixture 1.9e-5 absolute / 8.4e-7 relative; synthetic llama/qwen2/tied models at most
    /// 6.1e-5 absolute / 6.8e-6 relative (the test output prints each). Both run F32 but sum in different orders.
    /// </summary>
    public const double RelativeTolerance = 2e-5;

    /// <summary>
    /// The same bound for the GELU families (Gemma): ggml's CPU GELU rounds its float32 input to f16 and reads the result
    /// from an f16 table (<c>GGML_GELU_FP16</c> in ggml-cpu's vec.h), an error of up to ~1e-3 per activation that the
    /// engine's float32 GELU-tanh does not make. Measured: synthetic gemma2 2.5e-4, gemma3 2.5e-5 relative.
    /// </summary>
    public const double GeluRelativeTolerance = 1e-3;

    internal const string Text = "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.";

    [Theory]
    [InlineData(GgufExports.Austen)]
    [InlineData(GgufExports.Qwen2)]
    [InlineData(GgufExports.Qwen3)]
    [InlineData(GgufExports.Llama3)]
    [InlineData(GgufExports.Qwen3Yarn)]
    [InlineData(GgufExports.Tied)]
    [InlineData(GgufExports.Untied)]
    [InlineData(GgufExports.Phi3)]
    [InlineData(GgufExports.Phi4)]
    [InlineData(GgufExports.Phi3Longrope)]
    [InlineData(GgufExports.Gemma2)]
    [InlineData(GgufExports.Gemma3)]
    public void F32LogitsMatchTheEngine(string model)
    {
        var export = GgufExports.Export(model, "F32");
        using var folder = ModelFolder.Open(GgufExports.ModelPath(model));
        int[] ids = folder.Tokenizer.Encode(Text, addBos: true);
        float[] engine;
        using (var llama = LlamaModel.Create(folder.Config, folder.Weights, new ModelOptions()))
        using (var logits = llama.Forward(new[] { ids }))
            engine = logits.data<float>().ToArray();
        using var session = new LlamaCppSession(export.Path);
        Assert.Equal(folder.Config.VocabSize, session.VocabSize);
        var judged = session.Logits(ids);
        int vocab = folder.Config.VocabSize;
        double maxDiff = 0, maxAbs = 0;
        int argmaxAgree = 0;
        for (int t = 0; t < ids.Length; t++)
        {
            var row = engine.AsSpan(t * vocab, vocab);
            for (int v = 0; v < vocab; v++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(row[v] - judged[t][v]));
                maxAbs = Math.Max(maxAbs, Math.Abs(row[v]));
            }
            if (ArgMax(row) == ArgMax(judged[t])) argmaxAgree++;
        }
        double tolerance = folder.Config.IsGemma ? GeluRelativeTolerance : RelativeTolerance;
        output.WriteLine($"{model}: {ids.Length} positions, max |diff| {maxDiff:E3}, max |logit| {maxAbs:F3}, relative {maxDiff / maxAbs:E3}, top-1 agree {argmaxAgree}/{ids.Length}");
        Assert.True(maxDiff <= tolerance * maxAbs, $"{model}: max |diff| {maxDiff:E3} exceeds {tolerance:E1} x {maxAbs:F3}");
        Assert.Equal(ids.Length, argmaxAgree);
    }

    /// <summary>
    /// llama.cpp (LLamaSharp 0.30) disables phi3's sliding window ("Phi SWA is currently disabled"), so on a model whose
    /// window is shorter than the text its logits are the engine's without the window, and differ from Hugging Face's
    /// (which the engine follows) — the consequence docs/model-families.md states.
    /// </summary>
    [Fact]
    public void LlamaCppIgnoresThePhi3SlidingWindow()
    {
        var export = GgufExports.Export(GgufExports.Phi3Window, "F32");
        using var folder = ModelFolder.Open(GgufExports.ModelPath(GgufExports.Phi3Window));
        int[] ids = folder.Tokenizer.Encode(Text, addBos: true);
        Assert.Equal(5, folder.Config.SlidingWindow);
        float[] windowed = EngineLogits(folder.Config, folder.Weights, ids);
        folder.Config.SlidingWindow = null;
        float[] full = EngineLogits(folder.Config, folder.Weights, ids);
        folder.Config.SlidingWindow = 5;
        using var session = new LlamaCppSession(export.Path);
        var judged = session.Logits(ids);
        double toFull = MaxRelativeDifference(full, judged), toWindowed = MaxRelativeDifference(windowed, judged);
        output.WriteLine($"{ids.Length} positions: llama.cpp vs engine without window {toFull:E3}, vs engine with window 5 {toWindowed:E3}");
        Assert.True(toFull <= RelativeTolerance, $"llama.cpp differs from the unwindowed engine by {toFull:E3}");
        Assert.True(toWindowed > 1e-2, $"the window changed the logits only by {toWindowed:E3}");
    }

    /// <summary>
    /// llama.cpp picks phi3's longrope factors by the context it is given, not by the sequence: with a context beyond the
    /// original 2048 it uses the long factors even for a short text, which is the engine's forward with the long factors.
    /// </summary>
    [Fact]
    public void LlamaCppPicksTheLongropeFactorsByContextSize()
    {
        var export = GgufExports.Export(GgufExports.Phi3Longrope, "F32");
        using var folder = ModelFolder.Open(GgufExports.ModelPath(GgufExports.Phi3Longrope));
        int[] ids = folder.Tokenizer.Encode(Text, addBos: true);
        float[] shortFactors = EngineLogits(folder.Config, folder.Weights, ids);
        var scaling = System.Text.Json.Nodes.JsonNode.Parse(folder.Config.RopeScaling!.Value.GetRawText())!.AsObject();
        scaling["short_factor"] = scaling["long_factor"]!.DeepClone();
        var original = folder.Config.RopeScaling;
        folder.Config.RopeScaling = System.Text.Json.JsonDocument.Parse(scaling.ToJsonString()).RootElement.Clone();
        float[] longFactors = EngineLogits(folder.Config, folder.Weights, ids);
        folder.Config.RopeScaling = original;
        using var wide = new LlamaCppSession(export.Path, contextSize: 4096);
        double toLong = MaxRelativeDifference(longFactors, wide.Logits(ids)), toShort = MaxRelativeDifference(shortFactors, wide.Logits(ids));
        output.WriteLine($"context 4096: llama.cpp vs engine with long factors {toLong:E3}, with short factors {toShort:E3}");
        Assert.True(toLong <= RelativeTolerance, $"llama.cpp at context 4096 differs from the long-factor forward by {toLong:E3}");
        Assert.True(toShort > 1e-2, $"the long factors changed the logits only by {toShort:E3}");
    }

    private static float[] EngineLogits(ModelConfig config, ITensorSource weights, int[] ids)
    {
        using var llama = LlamaModel.Create(config, weights, new ModelOptions());
        using var logits = llama.Forward(new[] { ids });
        return logits.data<float>().ToArray();
    }

    /// <summary>max |a − b| / max |a| over every position and token.</summary>
    private static double MaxRelativeDifference(float[] engine, IReadOnlyList<float[]> judged)
    {
        int vocab = judged[0].Length;
        double maxDiff = 0, maxAbs = 0;
        for (int t = 0; t < judged.Count; t++)
            for (int v = 0; v < vocab; v++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(engine[t * vocab + v] - judged[t][v]));
                maxAbs = Math.Max(maxAbs, Math.Abs(engine[t * vocab + v]));
            }
        return maxDiff / maxAbs;
    }

    internal static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
