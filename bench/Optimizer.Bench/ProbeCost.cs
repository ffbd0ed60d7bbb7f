using System.Diagnostics;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using static TorchSharp.torch;

namespace Optimizer.Bench;

/// <summary>
/// Forward throughput of the calibration pass with and without the statistics probe, interleaved run by run so both
/// see the same machine load. Tokens are a fixed pseudo-random byte stream (BOS first in every sequence).
/// </summary>
public static class ProbeCost
{
    /// <summary>Calibration-shaped token batches: <paramref name="sequences"/> × <paramref name="length"/>, seeded.</summary>
    public static int[][] Tokens(ModelConfig config, int bosId, int sequences, int length, int seed = 42)
    {
        var random = new Random(seed);
        int limit = Math.Min(config.VocabSize, 256);
        var result = new int[sequences][];
        for (int s = 0; s < sequences; s++)
        {
            result[s] = new int[length];
            result[s][0] = bosId >= 0 && bosId < config.VocabSize ? bosId : 0;
            for (int t = 1; t < length; t++) result[s][t] = random.Next(limit);
        }
        return result;
    }

    /// <summary>Wall and process CPU seconds of one pass over <paramref name="tokens"/> in batches of <paramref name="batchSize"/>.</summary>
    public static (double Wall, double Cpu) Pass(LlamaModel model, int[][] tokens, int batchSize, Func<IActivationProbe?> probe)
    {
        IActivationProbe? p = probe();
        using var process = Process.GetCurrentProcess();
        TimeSpan cpu0 = process.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        for (int start = 0; start < tokens.Length; start += batchSize)
        {
            int count = Math.Min(batchSize, tokens.Length - start);
            using Tensor logits = model.Forward(tokens.Skip(start).Take(count).ToArray(), p, (long)start * tokens[0].Length);
        }
        double wall = watch.Elapsed.TotalSeconds;
        process.Refresh();
        return (wall, (process.TotalProcessorTime - cpu0).TotalSeconds);
    }

    /// <summary>The statistics probe the analysis runs in its calibration pass: every site, medians everywhere.</summary>
    public static IActivationProbe? AllProbes() => new ActivationStatistics(new ActivationStatisticsOptions());
}
