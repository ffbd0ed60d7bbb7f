using System.Diagnostics;
using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using static TorchSharp.torch;

namespace Optimizer.Engine.Tests.Model;

/// <summary>
/// The forward with activation fake quantization and the statistics probes stays bit-identical while another thread
/// runs the garbage collector and the finalizers non-stop: no TorchSharp Scalar handed to libtorch may be left to the
/// finalizer thread, which could free it while native code still reads it (an INTERNAL ASSERT in c10/core/Scalar.h).
/// </summary>
public class ScalarLifetimeTests
{
    private static readonly ModelSpec Spec = new("scalars", Vocab: 47, Hidden: 32, Intermediate: 48, Layers: 2, Heads: 4, KvHeads: 2, Bos: 1);
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(8);
    private const int MinimumRounds = 6, MaximumRounds = 60;

    /// <summary>Embeddings rounded to quarters: equal magnitudes tie at the top-k cut, which takes the torch top-k path.</summary>
    private static InMemoryTensorSource Source() => RandomModels.Build(Spec, seed: 41, (role, _, values) =>
    {
        if (role != TensorRole.TokenEmbedding) return;
        for (int i = 0; i < values.Length; i++) values[i] = MathF.Round(values[i] * 4) / 4;
    });

    [Fact]
    public void ProbedQuantizedForwardIsIdenticalUnderConstantFinalization()
    {
        using var source = Source();
        var config = RandomModels.Config(Spec);
        int[][] tokens = RandomModels.Tokens(Spec.Vocab, 2, 12, seed: 5);
        StaticActivationScales scales;
        using (var plain = LlamaModel.Create(config, source, new ModelOptions())) scales = StaticActivationScales.Calibrate(plain, tokens, batchSize: 2);
        using var dynamicModel = LlamaModel.Create(config, source, new ModelOptions { ActivationQuantization = new ActivationQuantization(8, ActivationQuantMode.PerTokenDynamic) });
        using var staticModel = LlamaModel.Create(config, source, new ModelOptions { ActivationQuantization = new ActivationQuantization(4, ActivationQuantMode.PerTensorStatic, scales) });

        Fingerprint expectedDynamic = Run(dynamicModel, tokens), expectedStatic = Run(staticModel, tokens);
        Assert.NotEqual(expectedDynamic.Logits, expectedStatic.Logits);

        using var stop = new CancellationTokenSource();
        long collections = 0;
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Interlocked.Increment(ref collections);
            }
        }) { IsBackground = true, Name = "gc-pressure" };
        collector.Start();
        int rounds = 0;
        try
        {
            var clock = Stopwatch.StartNew();
            while (rounds < MaximumRounds && (rounds < MinimumRounds || clock.Elapsed < Budget))
            {
                bool useStatic = rounds % 2 == 1;
                Fingerprint actual = Run(useStatic ? staticModel : dynamicModel, tokens);
                Fingerprint expected = useStatic ? expectedStatic : expectedDynamic;
                Assert.Equal(expected.Logits, actual.Logits);
                Assert.Equal(expected.Statistics, actual.Statistics);
                Assert.Equal(expected.Channels, actual.Channels);
                Assert.Equal(expected.Histogram, actual.Histogram);
                rounds++;
            }
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
        Assert.True(rounds >= MinimumRounds, $"only {rounds} rounds ran");
        Assert.True(Interlocked.Read(ref collections) > rounds, $"{collections} collections in {rounds} rounds: the pressure thread barely ran");
    }

    [Fact]
    public void EngineNeverLeavesAScalarToTheFinalizer()
    {
        IReadOnlySet<string> creators = ImplicitScalarScanner.Creators(typeof(TorchSharp.Scalar).Assembly.Location);
        // The scan sees TorchSharp's own shorthands: square() is pow(2), Tensor + Tensor passes an alpha of 1.
        Assert.Contains("Tensor::square()", creators);
        Assert.Contains("Tensor::add(Tensor)", creators);
        Assert.Contains("Tensor::op_Addition(Tensor, Tensor)", creators);
        Assert.DoesNotContain("Tensor::add(Tensor, Scalar)", creators);

        IReadOnlyList<string> offenders = ImplicitScalarScanner.Offenders(typeof(LlamaModel).Assembly.Location, creators);
        Assert.True(offenders.Count == 0, "Implicit Scalars (use an explicitly disposed Scalar or ExplicitScalars):\n" + string.Join("\n", offenders));
        // The scan finds such calls where they exist.
        IReadOnlyList<string> known = ImplicitScalarScanner.Offenders(typeof(ScalarLifetimeTests).Assembly.Location, creators);
        Assert.Contains($"{nameof(ScalarLifetimeTests)}::{nameof(KnownImplicitScalars)} -> Tensor::square()", known);
        Assert.Contains($"{nameof(ScalarLifetimeTests)}::{nameof(KnownImplicitScalars)} -> Scalar::op_Implicit(Double)", known);
    }

    /// <summary>The scanner's known positive (never run): a shorthand that creates a Scalar, and an implicit conversion.</summary>
    private static Tensor KnownImplicitScalars(Tensor x) => x.square().mul(2.0);

    private sealed record Fingerprint(float[] Logits, string Statistics, string Channels, long[] Histogram);

    /// <summary>One probed forward: its logits and a complete textual record of what the probes computed.</summary>
    private static Fingerprint Run(LlamaModel model, int[][] tokens)
    {
        var stats = new ActivationStatistics(new ActivationStatisticsOptions { TopK = 4 });
        var channels = new ChannelMagnitudes(new[] { ProbeSite.AttnY1, ProbeSite.AttnY2, ProbeSite.Y6, ProbeSite.Y8 });
        float[] logits;
        var histogram = new LogHistogram();
        using (Tensor output = model.Forward(tokens, new CompositeProbe(stats, channels), 0))
        {
            logits = output.data<float>().ToArray();
            using Tensor abs = output.abs();
            histogram.Add(abs);
        }

        var statistics = new System.Text.StringBuilder();
        foreach (var site in stats.Sites)
        {
            statistics.Append($"{site.Layer}/{site.SiteId} n={site.TokenCount} max={site.MaxAbs:R} q50={site.Quantile(0.5):R} ");
            statistics.AppendJoin(',', site.ChannelAbsMax.ToArray()).Append(" | ").AppendJoin(',', site.TokenAbsMax.ToArray()).Append(" | ");
            statistics.AppendJoin(';', site.Top.Select(e => $"{e.TokenIndex}:{e.Channel}:{e.Value:R}")).AppendLine();
        }
        var channelText = new System.Text.StringBuilder();
        foreach (var h in channels.Histograms)
        {
            channelText.Append($"{h.Layer}/{h.Site} n={h.TokenCount} ");
            for (int c = 0; c < h.Channels; c++) channelText.AppendJoin(',', h.Counts(c).ToArray()).Append(';');
            channelText.AppendLine();
        }
        return new Fingerprint(logits, statistics.ToString(), channelText.ToString(), histogram.Counts.ToArray());
    }
}
