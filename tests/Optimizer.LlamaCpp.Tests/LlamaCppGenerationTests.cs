using System.Text.RegularExpressions;
using Optimizer.Engine.Formats;
using Xunit.Abstractions;
using Optimizer.LlamaCpp;

namespace Optimizer.LlamaCpp.Tests;

/// <summary>Text llama.cpp samples from the fixture's Q4_0 GGUF reads like the Austen text it was trained on.</summary>
public sealed partial class LlamaCppGenerationTests(ITestOutputHelper output)
{
    private const string Prompt = "It is a truth universally acknowledged, that";
    private const int NewTokens = 400;

    [Fact]
    public void SampledTextIsEnglishLike()
    {
        using var folder = ModelFolder.Open(GgufExports.ModelPath(GgufExports.Austen));
        var tokenizer = folder.Tokenizer;
        var export = GgufExports.Export(GgufExports.Austen, "Q4_0");
        using var session = new LlamaCppSession(export.Path, 512);
        var ids = tokenizer.Encode(Prompt, addBos: true).ToList();
        int promptLength = ids.Count;
        var random = new Random(20261128);
        float[] logits = session.Continue(ids, 0);
        for (int i = 0; i < NewTokens; i++)
        {
            int next = Sample(logits, 0.7, random);
            ids.Add(next);
            logits = session.Continue(new[] { next }, ids.Count - 1);
        }
        string generated = tokenizer.Decode(ids.Skip(promptLength).ToArray());
        output.WriteLine(generated);

        var vocabulary = new HashSet<string>(Word().Matches(File.ReadAllText(RepositoryPaths.AustenTrain)).Select(m => m.Value.ToLowerInvariant()));
        var words = Word().Matches(generated).Select(m => m.Value.ToLowerInvariant()).ToList();
        double known = words.Count(vocabulary.Contains) / (double)Math.Max(1, words.Count);
        output.WriteLine($"{words.Count} words, {known:P1} occur in the training text");
        Assert.True(words.Count >= 40, $"Only {words.Count} words in {NewTokens} bytes: {generated}");
        Assert.True(known >= 0.8, $"Only {known:P1} of the words occur in the training text: {generated}");
    }

    private static int Sample(float[] logits, double temperature, Random random)
    {
        double max = logits.Max();
        var weights = logits.Select(l => Math.Exp((l - max) / temperature)).ToArray();
        double pick = random.NextDouble() * weights.Sum();
        for (int i = 0; i < weights.Length; i++)
        {
            pick -= weights[i];
            if (pick <= 0) return i;
        }
        return weights.Length - 1;
    }

    [GeneratedRegex("[A-Za-z]+")]
    private static partial Regex Word();
}
