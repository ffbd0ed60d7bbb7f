using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Engine.Quantization;
using Optimizer.LlamaCpp;
using Xunit.Abstractions;

namespace Optimizer.LlamaCpp.Tests;

/// <summary>
/// llama.cpp's perplexity on the fixture's GGUF agrees with the engine's <see cref="PerplexityEvaluator"/> on the same
/// tokens and windows (BOS + 128 held-out bytes per window): the F32 file against the engine on the source weights,
/// Q8_0/Q4_0 files against the engine on the fake-quantized weights (<see cref="FakeQuantizedWeights"/>). Without BOS
/// and with a shorter last window, <see cref="LlamaCppPerplexity"/> still scores exactly the engine's tokens.
/// </summary>
public sealed class LlamaCppPerplexityTests(ITestOutputHelper output)
{
    private const int Context = 128;
    private const int Windows = 4;

    [Theory]
    [InlineData("F32", 0.01)]
    [InlineData("Q8_0", 0.01)]
    [InlineData("Q4_0", 0.01)]
    public void PerplexityAgreesWithTheEngine(string recipe, double tolerance)
    {
        using var folder = ModelFolder.Open(GgufExports.ModelPath(GgufExports.Austen));
        string text = File.ReadAllText(RepositoryPaths.AustenHeldOut);
        int[] tokens = folder.Tokenizer.Encode(text[..(Context * Windows * 2)], addBos: false)[..(Context * Windows)];
        int bos = folder.Config.BosTokenId!.Value;

        using ITensorSource? fake = recipe == "F32" ? null
            : new FakeQuantizedWeights(folder.Weights, new GgufRoundTrip(QuantizationRecipe.Parse(recipe), folder.Config));
        using var model = LlamaModel.Create(folder.Config, fake ?? folder.Weights, new ModelOptions());
        var engine = new PerplexityEvaluator(model, new PerplexityOptions { Context = Context, BatchSize = Windows }).Evaluate(tokens);

        using var session = new LlamaCppSession(GgufExports.Export(GgufExports.Austen, recipe).Path, Context + 1);
        var judgedResult = LlamaCppPerplexity.Evaluate(session, tokens, Context, bos);
        double judged = judgedResult.Perplexity;
        long scored = judgedResult.TokensScored;
        double ratio = judged / engine.Perplexity - 1;
        output.WriteLine($"{recipe}: engine perplexity {engine.Perplexity:F5} ({engine.TokensScored} tokens), llama.cpp {judged:F5} ({scored} tokens), difference {ratio:P3}");
        Assert.Equal(engine.TokensScored, scored);
        Assert.True(Math.Abs(ratio) <= tolerance, $"{recipe}: llama.cpp perplexity {judged:F4} differs from the engine's {engine.Perplexity:F4} by {ratio:P3}");
    }

    [Fact]
    public void WindowsWithoutBosAndARaggedTailMatchTheEngine()
    {
        using var folder = ModelFolder.Open(GgufExports.ModelPath(GgufExports.Austen));
        string text = File.ReadAllText(RepositoryPaths.AustenHeldOut);
        int[] tokens = folder.Tokenizer.Encode(text[..(Context * 4)], addBos: false)[..(Context * 2 + 37)];
        using var model = LlamaModel.Create(folder.Config, folder.Weights, new ModelOptions());
        var engine = new PerplexityEvaluator(model, new PerplexityOptions { Context = Context, BatchSize = 2, PrefixBos = false }).Evaluate(tokens);

        using var session = new LlamaCppSession(GgufExports.Export(GgufExports.Austen, "F32").Path, Context + 1);
        var judged = LlamaCppPerplexity.Evaluate(session, tokens, Context, bos: null);
        output.WriteLine($"no BOS: engine {engine.Perplexity:F5} ({engine.TokensScored} tokens), llama.cpp {judged.Perplexity:F5} ({judged.TokensScored} tokens, {judged.Windows} windows)");
        Assert.Equal(3, judged.Windows);
        Assert.Equal(engine.TokensScored, judged.TokensScored);
        Assert.True(Math.Abs(judged.Perplexity / engine.Perplexity - 1) <= 0.01, $"llama.cpp {judged.Perplexity:F4} against the engine's {engine.Perplexity:F4}");
        Assert.Throws<ArgumentException>(() => LlamaCppPerplexity.Evaluate(session, tokens, Context + 1, bos: 0));
    }
}
