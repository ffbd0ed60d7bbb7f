using Optimizer.Engine.Calibration;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Tests.Calibration;

/// <summary>Self-sampled calibration: deterministic per seed, independent of the batch size, BOS only at position 0, recorded provenance.</summary>
public sealed class SelfSamplerTests : IDisposable
{
    private static readonly CalibrationOptions Small = new() { SequenceLength = 24, Tokens = 96, SampleBatchSize = 4 };
    private readonly CalibrationFolder _folder = new();
    private readonly LlamaModel _model;

    public SelfSamplerTests() => _model = LlamaModel.Create(_folder.Model.Config, _folder.Model.Weights, new ModelOptions());

    public void Dispose()
    {
        _model.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public void TheSameSeedGivesTheSameTokensAndADifferentSeedDifferentOnes()
    {
        var first = SelfSampler.Sample(_model, ByteLevelVocabulary.BosId, Small);
        var again = SelfSampler.Sample(_model, ByteLevelVocabulary.BosId, Small with { SampleBatchSize = 3 });
        var other = SelfSampler.Sample(_model, ByteLevelVocabulary.BosId, Small with { Seed = 7 });
        Assert.Equal(first.TokensSha256, again.TokensSha256);
        Assert.Equal(first.Sequences, again.Sequences);
        Assert.NotEqual(first.TokensSha256, other.TokensSha256);
        Assert.Equal(TextCalibrationTests.ExpectedHash(first.Sequences), first.TokensSha256);
    }

    [Fact]
    public void TheSamplingContextBoundsWhatEachStepSees()
    {
        var wide = SelfSampler.Sample(_model, ByteLevelVocabulary.BosId, Small with { SampleContext = 24 });
        var full = SelfSampler.Sample(_model, ByteLevelVocabulary.BosId, Small with { SampleContext = 1000 });
        var narrow = SelfSampler.Sample(_model, ByteLevelVocabulary.BosId, Small with { SampleContext = 4 });
        Assert.Equal(full.Sequences, wide.Sequences);
        Assert.Equal(wide.Sequences.Select(s => s[..5]), narrow.Sequences.Select(s => s[..5]));
        Assert.NotEqual(wide.TokensSha256, narrow.TokensSha256);
        Assert.Equal(4, narrow.Source.Sampling!.Context);
        var error = Assert.Throws<OptimizerException>(() => SelfSampler.Sample(_model, ByteLevelVocabulary.BosId, Small with { SampleContext = 1 }));
        Assert.Equal(ErrorCodes.CalibrationOptionInvalid, error.Code);
    }

    [Fact]
    public void SequencesStartWithBosAndNeverDrawItAgain()
    {
        var set = SelfSampler.Sample(_model, ByteLevelVocabulary.BosId, Small);
        Assert.Equal(4, set.Sequences.Count);
        Assert.True(set.Bos);
        Assert.Equal(96, set.TokenCount);
        Assert.All(set.Sequences, s =>
        {
            Assert.Equal(24, s.Length);
            Assert.Equal(ByteLevelVocabulary.BosId, s[0]);
            Assert.All(s.Skip(1), t => Assert.InRange(t, 0, ByteLevelVocabulary.BosId - 1));
        });
        Assert.True(set.Sequences.SelectMany(s => s.Skip(1)).Distinct().Count() > 10, "sampling should produce varied tokens");
        Assert.Equal((CalibrationSourceKind.SelfSampled, "self-sampled", (ulong?)CalibrationOptions.DefaultSeed), (set.Source.Kind, set.Source.Id, set.Source.Seed));
        Assert.Equal(new SamplingParameters(1.0, 40, 32), set.Source.Sampling);
        Assert.Empty(set.Source.Files);
    }

    [Fact]
    public void WithoutBosTheFirstTokenIsDrawnFromTheSeed()
    {
        var set = SelfSampler.Sample(_model, null, Small);
        var again = SelfSampler.Sample(_model, null, Small);
        Assert.False(set.Bos);
        Assert.Equal(set.Sequences, again.Sequences);
        Assert.True(set.Sequences.Select(s => s[0]).Distinct().Count() > 1);
    }

    [Fact]
    public void ProgressCountsEveryGeneratedTokenAndCancellationStops()
    {
        var reports = new List<SamplingProgress>();
        SelfSampler.Sample(_model, ByteLevelVocabulary.BosId, Small, new SyncProgress(reports.Add));
        Assert.Equal(new SamplingProgress(4 * 23, 4 * 23), reports[^1]);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => SelfSampler.Sample(_model, ByteLevelVocabulary.BosId, Small, null, cts.Token));
    }

    [Fact]
    public void DrawHonoursTopKTemperatureAndExclusion()
    {
        float[] logits = { 1f, 5f, 3f, 5f, float.NaN, 2f };
        var random = new Xoshiro256StarStar(3);
        // top-1: the largest logit, ties to the smaller id.
        for (int i = 0; i < 20; i++) Assert.Equal(1, SelfSampler.Draw(logits, null, 1.0, 1, random));
        Assert.Equal(3, SelfSampler.Draw(logits, 1, 1.0, 1, random));
        // top-3 never draws outside {1, 3, 2}; a tiny temperature is almost greedy.
        var drawn = Enumerable.Range(0, 400).Select(_ => SelfSampler.Draw(logits, null, 1.0, 3, random)).ToHashSet();
        Assert.Equal(new HashSet<int> { 1, 2, 3 }, drawn);
        Assert.All(Enumerable.Range(0, 50), _ => Assert.Contains(SelfSampler.Draw(logits, null, 1e-3, 6, random), new[] { 1, 3 }));
        var error = Assert.Throws<OptimizerException>(() => SelfSampler.Draw(new[] { float.NaN, float.PositiveInfinity }, null, 1.0, 2, random));
        Assert.Equal(ErrorCodes.SamplingFailed, error.Code);
    }

    [Fact]
    public void TheRandomGeneratorIsSeededAndUniform()
    {
        var a = new Xoshiro256StarStar(42);
        var b = new Xoshiro256StarStar(42);
        var values = Enumerable.Range(0, 10_000).Select(_ => a.NextDouble()).ToArray();
        Assert.Equal(values, Enumerable.Range(0, 10_000).Select(_ => b.NextDouble()));
        Assert.All(values, v => Assert.InRange(v, 0.0, 1.0 - 1e-17));
        Assert.InRange(values.Average(), 0.48, 0.52);
        Assert.NotEqual(new Xoshiro256StarStar(43).NextUInt64(), new Xoshiro256StarStar(42).NextUInt64());
    }

    private sealed class SyncProgress(Action<SamplingProgress> report) : IProgress<SamplingProgress>
    {
        public void Report(SamplingProgress value) => report(value);
    }
}
