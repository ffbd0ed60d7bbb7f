using Optimizer.Engine.Formats;
using Optimizer.LlamaCpp;
using Xunit.Abstractions;

namespace Optimizer.LlamaCpp.Tests;

/// <summary>
/// <see cref="LlamaCppKlDivergence"/>: the F32 file judged against itself has KL 0 and the perplexity of
/// <see cref="LlamaCppPerplexity"/>; quantized files score the same tokens, their perplexity is
/// <see cref="LlamaCppPerplexity"/>'s, and the coarser format has the larger KL divergence.
/// </summary>
public sealed class LlamaCppKlDivergenceTests(ITestOutputHelper output)
{
    private const int Context = 128;

    [Fact]
    public void KlDivergenceFromTheF32FileIsZeroForItselfAndGrowsWithCoarserFormats()
    {
        using var folder = ModelFolder.Open(GgufExports.ModelPath(GgufExports.Austen));
        string text = File.ReadAllText(RepositoryPaths.AustenHeldOut);
        int[] tokens = folder.Tokenizer.Encode(text[..(Context * 8)], addBos: false)[..(Context * 3 + 21)];
        int bos = folder.Config.BosTokenId!.Value;

        LlamaCppKlDivergence judge;
        using (var f32 = new LlamaCppSession(GgufExports.Export(GgufExports.Austen, "F32").Path, Context + 1))
        {
            judge = LlamaCppKlDivergence.Collect(f32, tokens, Context, bos);
            var self = judge.Judge(f32);
            var ppl = LlamaCppPerplexity.Evaluate(f32, tokens, Context, bos);
            Assert.Equal(ppl.TokensScored, judge.Reference.TokensScored);
            Assert.Equal(4, judge.Reference.Windows);
            Assert.Equal(ppl.Perplexity, judge.Reference.Perplexity, 9);
            Assert.Equal(ppl.Perplexity, self.Perplexity, 9);
            Assert.True(self.KlDivergence < 1e-9, $"KL of the F32 file against itself is {self.KlDivergence}");
        }

        double previous = 0;
        foreach (string recipe in new[] { "Q8_0", "Q4_0" })
        {
            using var session = new LlamaCppSession(GgufExports.Export(GgufExports.Austen, recipe).Path, Context + 1);
            var judged = judge.Judge(session);
            var ppl = LlamaCppPerplexity.Evaluate(session, tokens, Context, bos);
            output.WriteLine($"{recipe}: KL {judged.KlDivergence:G4}, PPL {judged.Perplexity:F5} (F32 {judge.Reference.Perplexity:F5}), {judged.TokensScored} tokens");
            Assert.Equal(judge.Reference.TokensScored, judged.TokensScored);
            Assert.Equal(ppl.Perplexity, judged.Perplexity, 9);
            Assert.True(judged.KlDivergence > previous, $"{recipe}: KL {judged.KlDivergence} is not above the finer format's {previous}");
            previous = judged.KlDivergence;
        }
    }
}
