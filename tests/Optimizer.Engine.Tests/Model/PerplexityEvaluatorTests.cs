using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Tests.Model;

/// <summary>Perplexity: known values, windowing, determinism, progress, cancellation.</summary>
public class PerplexityEvaluatorTests
{
    private static readonly ModelSpec Spec = new("ppl", Vocab: 53, Layers: 2, Heads: 4, KvHeads: 2, Bos: 1);

    private static int[] Text(int count, int seed) => RandomModels.Tokens(Spec.Vocab, 1, count, seed)[0];

    [Fact]
    public void ZeroOutputHeadGivesVocabularySizeIdenticallyTwice()
    {
        using var source = RandomModels.Build(Spec, seed: 41, (role, _, values) => { if (role == TensorRole.OutputHead) Array.Clear(values); });
        using var model = LlamaModel.Create(RandomModels.Config(Spec), source, new ModelOptions());
        var evaluator = new PerplexityEvaluator(model, new PerplexityOptions { Context = 16, BatchSize = 3 });
        int[] text = Text(70, 1);
        PerplexityResult first = evaluator.Evaluate(text);
        PerplexityResult second = evaluator.Evaluate(text);
        Assert.Equal(70, first.TokensScored);   // BOS-prefixed windows score every text token
        Assert.Equal(5, first.Windows);          // 16+16+16+16+6
        Assert.Equal(Spec.Vocab, first.Perplexity, 1e-4 * Spec.Vocab);
        Assert.Equal(first.MeanNll, second.MeanNll);
        Assert.True(first.TokensPerSecond > 0);
    }

    [Fact]
    public void MatchesNllComputedFromLogitsAndIsBitIdenticalAcrossRuns()
    {
        using var source = RandomModels.Build(Spec, seed: 42);
        using var model = LlamaModel.Create(RandomModels.Config(Spec), source, new ModelOptions());
        int[] text = Text(23, 2);
        var evaluator = new PerplexityEvaluator(model, new PerplexityOptions { Context = 10, BatchSize = 2, PrefixBos = false });
        PerplexityResult result = evaluator.Evaluate(text);
        Assert.Equal(20, result.TokensScored); // windows 10+10+3, first token of each is context only
        Assert.Equal(result.MeanNll, evaluator.Evaluate(text).MeanNll);

        double sum = 0;
        foreach (int start in new[] { 0, 10, 20 })
        {
            int[] window = text.Skip(start).Take(10).ToArray();
            using var logits = model.Forward(new[] { window });
            float[] l = logits.data<float>().ToArray();
            for (int t = 0; t + 1 < window.Length; t++)
            {
                var row = l.AsSpan(t * Spec.Vocab, Spec.Vocab);
                double max = double.NegativeInfinity, z = 0;
                foreach (float x in row) max = Math.Max(max, x);
                foreach (float x in row) z += Math.Exp(x - max);
                sum += Math.Log(z) + max - row[window[t + 1]];
            }
        }
        Assert.Equal(sum / 20, result.MeanNll, 5);
    }

    [Fact]
    public void ReportsProgressAndHonoursCancellation()
    {
        using var source = RandomModels.Build(Spec, seed: 43);
        using var model = LlamaModel.Create(RandomModels.Config(Spec), source, new ModelOptions { StreamLayers = true });
        var evaluator = new PerplexityEvaluator(model, new PerplexityOptions { Context = 8, BatchSize = 2 });
        var reports = new List<EvalProgress>();
        evaluator.Evaluate(Text(40, 3), new SynchronousProgress(reports.Add));
        Assert.Equal(new[] { 2, 4, 5 }, reports.Select(r => r.WindowsDone));
        Assert.All(reports, r => Assert.Equal(5, r.WindowsTotal));
        Assert.Equal(40, reports[^1].TokensScored);

        using var cts = new CancellationTokenSource();
        var cancelling = new SynchronousProgress(_ => cts.Cancel());
        Assert.ThrowsAny<OperationCanceledException>(() => evaluator.Evaluate(Text(40, 3), cancelling, cts.Token));
    }

    [Fact]
    public void TooLittleTextIsTextTooShort()
    {
        using var source = RandomModels.Build(Spec, seed: 44);
        using var model = LlamaModel.Create(RandomModels.Config(Spec), source, new ModelOptions());
        Assert.Equal(ErrorCodes.TextTooShort, Assert.Throws<OptimizerException>(() => new PerplexityEvaluator(model).Evaluate(Array.Empty<int>())).Code);
        var noBos = new PerplexityEvaluator(model, new PerplexityOptions { PrefixBos = false });
        Assert.Equal(ErrorCodes.TextTooShort, Assert.Throws<OptimizerException>(() => noBos.Evaluate(new[] { 3 })).Code);
        Assert.Equal(1, new PerplexityEvaluator(model).Evaluate(new[] { 3 }).TokensScored);
    }

    private sealed class SynchronousProgress : IProgress<EvalProgress>
    {
        private readonly Action<EvalProgress> _report;
        public SynchronousProgress(Action<EvalProgress> report) => _report = report;
        public void Report(EvalProgress value) => _report(value);
    }
}
