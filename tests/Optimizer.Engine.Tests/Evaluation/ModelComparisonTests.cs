using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Engine.Tests.Model;

namespace Optimizer.Engine.Tests.Evaluation;

/// <summary>ModelComparison: self-comparison, a float64 reference on a perturbed model, chunking, determinism and errors.</summary>
public class ModelComparisonTests
{
    private static readonly ModelSpec Spec = new("cmp", Vocab: 53, Hidden: 32, Intermediate: 48, Layers: 2, Heads: 4, KvHeads: 2, Bos: 1);
    private static readonly PerplexityOptions Options = new() { Context = 12, BatchSize = 3 };

    private static int[] Text(int count, int seed) => RandomModels.Tokens(Spec.Vocab, 1, count, seed)[0];

    private static LlamaModel Create(InMemoryTensorSource source) => LlamaModel.Create(RandomModels.Config(Spec), source, new ModelOptions());

    /// <summary>The weights of seed 11 with every linear weight perturbed by Gaussian noise of std <paramref name="noise"/>.</summary>
    private static InMemoryTensorSource Perturbed(double noise, int seed)
    {
        var random = new Random(seed);
        return RandomModels.Build(Spec, seed: 11, (role, _, values) =>
        {
            if (role is TensorRole.AttnNorm or TensorRole.FfnNorm or TensorRole.FinalNorm) return;
            for (int i = 0; i < values.Length; i++) values[i] += (float)(noise * (random.NextDouble() * 2 - 1));
        });
    }

    [Fact]
    public void AModelComparedWithItselfHasZeroDivergenceAndFullAgreement()
    {
        using var source = RandomModels.Build(Spec, seed: 11);
        using var model = Create(source);
        using var twinSource = RandomModels.Build(Spec, seed: 11);
        using var twin = Create(twinSource);
        int[] text = Text(40, 3);

        var results = ModelComparison.Compare(model, new[] { ("self", model), ("twin", twin) }, text, Options);
        PerplexityResult plain = new PerplexityEvaluator(model, Options).Evaluate(text);
        foreach (var r in results)
        {
            Assert.Equal(0.0, r.MeanKlDivergence);
            Assert.Equal(1.0, r.Top1Agreement);
            Assert.Equal(r.ReferencePerplexity, r.Perplexity);
            Assert.Equal(0.0, r.PerplexityIncrease);
            Assert.Equal(40, r.Tokens);
            Assert.Equal(plain.Perplexity, r.ReferencePerplexity, 1e-12 * plain.Perplexity);
        }
        Assert.Equal(new[] { "self", "twin" }, results.Select(r => r.Name));
    }

    [Fact]
    public void PerturbedModelMatchesAFloat64ReferenceFromTheLogits()
    {
        using var referenceSource = RandomModels.Build(Spec, seed: 11);
        using var reference = Create(referenceSource);
        using var candidateSource = Perturbed(0.05, seed: 5);
        using var candidate = Create(candidateSource);
        int[] text = Text(30, 4);
        var options = new PerplexityOptions { Context = 8, BatchSize = 2, PrefixBos = false };

        ComparisonResult result = ModelComparison.Compare(reference, new[] { ("noisy", candidate) }, text, options).Single();

        // Windows without BOS: 8, 8, 8, 6 tokens; the first token of each is context only.
        double nllRef = 0, nllCand = 0, kl = 0;
        int agree = 0, scored = 0;
        for (int start = 0; start < text.Length; start += 8)
        {
            int[] window = text.Skip(start).Take(8).ToArray();
            double[] p = LogSoftmaxRows(reference, window), q = LogSoftmaxRows(candidate, window);
            for (int t = 0; t + 1 < window.Length; t++)
            {
                var lp = p.AsSpan(t * Spec.Vocab, Spec.Vocab);
                var lq = q.AsSpan(t * Spec.Vocab, Spec.Vocab);
                nllRef -= lp[window[t + 1]];
                nllCand -= lq[window[t + 1]];
                for (int v = 0; v < Spec.Vocab; v++) kl += Math.Exp(lp[v]) * (lp[v] - lq[v]);
                if (ArgMax(lp) == ArgMax(lq)) agree++;
                scored++;
            }
        }
        Assert.Equal(26, scored);
        Assert.Equal(scored, result.Tokens);
        Assert.Equal(Math.Exp(nllRef / scored), result.ReferencePerplexity, 1e-5 * result.ReferencePerplexity);
        Assert.Equal(Math.Exp(nllCand / scored), result.Perplexity, 1e-5 * result.Perplexity);
        Assert.Equal(kl / scored, result.MeanKlDivergence, 1e-4 * (kl / scored) + 1e-7);
        Assert.Equal((double)agree / scored, result.Top1Agreement);
        Assert.True(result.MeanKlDivergence > 1e-4, $"the perturbation must be visible: KL {result.MeanKlDivergence}");
        Assert.True(result.Top1Agreement < 1.0 || result.MeanKlDivergence < 0.05);
    }

    [Fact]
    public void ResultsDoNotDependOnChunkingOrOnTheOtherCandidatesAndRepeatBitIdentically()
    {
        using var referenceSource = RandomModels.Build(Spec, seed: 11);
        using var reference = Create(referenceSource);
        using var smallSource = Perturbed(0.02, seed: 6);
        using var small = Create(smallSource);
        using var largeSource = Perturbed(0.1, seed: 7);
        using var large = Create(largeSource);
        int[] text = Text(50, 5);

        var both = ModelComparison.Compare(reference, new[] { ("small", small), ("large", large) }, text, Options);
        var again = ModelComparison.Compare(reference, new[] { ("small", small), ("large", large) }, text, Options);
        var alone = ModelComparison.Compare(reference, new[] { ("large", large) }, text, Options);
        // One position per chunk instead of all at once.
        var chunked = ModelComparison.Compare(reference, new[] { ("small", small), ("large", large) }, text, Options, null, 1, default);

        Assert.Equal(both, again);
        Assert.Equal(both[1], alone[0]);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(both[i].Tokens, chunked[i].Tokens);
            Assert.Equal(both[i].Top1Agreement, chunked[i].Top1Agreement);
            // Other matrix shapes for the head: float32 rounding only.
            Assert.Equal(both[i].Perplexity, chunked[i].Perplexity, 1e-6 * both[i].Perplexity);
            Assert.Equal(both[i].MeanKlDivergence, chunked[i].MeanKlDivergence, 1e-4 * both[i].MeanKlDivergence);
        }
        Assert.True(both[1].MeanKlDivergence > 4 * both[0].MeanKlDivergence, $"{both[0]} / {both[1]}");
        Assert.True(both[0].MeanKlDivergence > 0);
    }

    [Fact]
    public void ReportsProgressPerBatchAndHonoursCancellation()
    {
        using var source = RandomModels.Build(Spec, seed: 11);
        using var model = Create(source);
        var reports = new List<EvalProgress>();
        var progress = new SynchronousProgress(reports.Add);
        ModelComparison.Compare(model, new[] { ("self", model) }, Text(40, 6), Options, progress);
        // 4 windows (12+12+12+4): one batch of three equal windows, then the short one.
        Assert.Equal(new[] { 3, 4 }, reports.Select(r => r.WindowsDone));
        Assert.All(reports, r => Assert.Equal(4, r.WindowsTotal));
        Assert.Equal(40, reports[^1].TokensScored);

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => ModelComparison.Compare(model, new[] { ("self", model) }, Text(40, 6), Options, ct: cts.Token));
    }

    [Fact]
    public void RefusesModelsWithAnotherVocabularyOrBosAndTextsTooShort()
    {
        using var source = RandomModels.Build(Spec, seed: 11);
        using var model = Create(source);
        var otherSpec = Spec with { Vocab = 59 };
        using var otherSource = RandomModels.Build(otherSpec, seed: 11);
        using var other = LlamaModel.Create(RandomModels.Config(otherSpec), otherSource, new ModelOptions());
        var error = Assert.Throws<OptimizerException>(() => ModelComparison.Compare(model, new[] { ("other", other) }, Text(20, 1), Options));
        Assert.Equal(ErrorCodes.ModelsNotComparable, error.Code);
        Assert.Contains("59", error.Message);

        var noBosSpec = Spec with { Bos = null };
        using var noBosSource = RandomModels.Build(noBosSpec, seed: 11);
        using var noBos = LlamaModel.Create(RandomModels.Config(noBosSpec), noBosSource, new ModelOptions());
        Assert.Equal(ErrorCodes.ModelsNotComparable,
            Assert.Throws<OptimizerException>(() => ModelComparison.Compare(model, new[] { ("nobos", noBos) }, Text(20, 1), Options)).Code);

        var tooShort = Assert.Throws<OptimizerException>(() =>
            ModelComparison.Compare(model, new[] { ("self", model) }, new[] { 5 }, Options with { PrefixBos = false }));
        Assert.Equal(ErrorCodes.TextTooShort, tooShort.Code);
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelComparison.Compare(model, new[] { ("self", model) }, Text(20, 1), Options with { Context = 0 }));
    }

    private static double[] LogSoftmaxRows(LlamaModel model, int[] window)
    {
        using var logits = model.Forward(new[] { window });
        float[] l = logits.data<float>().ToArray();
        var result = new double[l.Length];
        for (int t = 0; t < window.Length; t++)
        {
            var row = l.AsSpan(t * Spec.Vocab, Spec.Vocab);
            double max = double.NegativeInfinity;
            foreach (float v in row) max = Math.Max(max, v);
            double z = 0;
            foreach (float v in row) z += Math.Exp(v - max);
            double log = max + Math.Log(z);
            for (int v = 0; v < Spec.Vocab; v++) result[t * Spec.Vocab + v] = row[v] - log;
        }
        return result;
    }

    private static int ArgMax(ReadOnlySpan<double> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
