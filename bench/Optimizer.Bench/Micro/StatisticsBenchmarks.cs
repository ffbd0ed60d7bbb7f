using BenchmarkDotNet.Attributes;
using Optimizer.Engine.Model;
using static TorchSharp.torch;

namespace Optimizer.Bench.Micro;

/// <summary>
/// The statistics accumulator: one observation of a [512, C] activation (4 sequences × 128 tokens, as the calibration
/// pass feeds it), with and without per-token medians.
/// </summary>
[MemoryDiagnoser]
public class StatisticsBenchmarks
{
    private const int Rows = 512;
    private Tensor? _activation;
    private readonly long[] _tokenIds = new long[Rows];

    /// <summary>Channels of the site (256: the fixture's residual; 2816: a 50M model's FFN).</summary>
    [Params(256, 2816)]
    public int Channels { get; set; }

    /// <summary>Whether per-token medians are computed.</summary>
    [Params(true, false)]
    public bool Medians { get; set; }

    /// <summary>A seeded activation.</summary>
    [GlobalSetup]
    public void Setup()
    {
        manual_seed(1);
        _activation = randn(Rows, Channels);
    }

    /// <summary>Frees the activation.</summary>
    [GlobalCleanup]
    public void Cleanup() => _activation?.Dispose();

    /// <summary>A fresh accumulator observing the activation once.</summary>
    [Benchmark]
    public int Observe()
    {
        var statistics = new ActivationStatistics(new ActivationStatisticsOptions { TokenMedianSites = Medians ? null : new HashSet<ProbeSite>() });
        statistics.Observe(new ProbeContext(0, ProbeSite.Y1, 4, Rows / 4, _tokenIds, 0), _activation!);
        return statistics.Get(0, ProbeSite.Y1).Top.Count;
    }
}
