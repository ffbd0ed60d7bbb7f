using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// A bounded, deterministic subsample of the calibration activations at the inputs of the linear layers (attn.y2,
/// attn.out, y2, y6), for the scale searches of docs/smoothing.md: the calibration sequences of the analysis run once
/// more through the original model, and every token whose index in the calibration stream is a multiple of
/// ⌈tokens / maxRows⌉ is kept (at most <c>maxRows</c> rows per site; the same rows at every site and layer). Rows are
/// float32 row-major [rows, channels], the activations as the original model computes them.
/// </summary>
internal sealed class CalibrationSample
{
    /// <summary>The linear-input sites sampled.</summary>
    public static readonly IReadOnlySet<ProbeSite> Sites = new HashSet<ProbeSite> { ProbeSite.AttnY2, ProbeSite.AttnOut, ProbeSite.Y2, ProbeSite.Y6 };

    private readonly Dictionary<(int Layer, ProbeSite Site), (int Channels, List<float> Values)> _rows = new();

    private CalibrationSample(long stride) => Stride = stride;

    /// <summary>Every <see cref="Stride"/>-th calibration token is in the sample.</summary>
    public long Stride { get; }

    /// <summary>Runs the calibration of <paramref name="analysis"/> through its (original) weights and keeps at most <paramref name="maxRows"/> tokens.</summary>
    public static CalibrationSample Collect(ActivationAnalysis analysis, int maxRows, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRows);
        var sequences = analysis.Calibration.Sequences;
        long total = sequences.Sum(s => (long)s.Length);
        var sample = new CalibrationSample(Math.Max(1, (total + maxRows - 1) / maxRows));
        var probe = new Probe(sample);
        using var model = LlamaModel.Create(analysis.Config, analysis.Weights, analysis.Options.Model with { ActivationQuantization = null });
        long firstToken = 0;
        int batchSize = Math.Max(1, analysis.Options.BatchSize);
        for (int done = 0; done < sequences.Count;)
        {
            ct.ThrowIfCancellationRequested();
            int length = sequences[done].Length, take = 1;
            while (take < batchSize && done + take < sequences.Count && sequences[done + take].Length == length) take++;
            var batch = new int[take][];
            for (int i = 0; i < take; i++) batch[i] = sequences[done + i];
            using (model.Forward(batch, probe, firstToken, ct)) { }
            firstToken += (long)take * length;
            done += take;
        }
        return sample;
    }

    /// <summary>The sampled rows of (<paramref name="layer"/>, <paramref name="site"/>) and their width.</summary>
    public (float[] Values, int Rows, int Channels) Get(int layer, ProbeSite site)
    {
        if (!_rows.TryGetValue((layer, site), out var entry) || entry.Values.Count == 0)
            throw new ArgumentException($"The calibration sample has no rows for layer {layer}, site {ProbeSites.Id(site)}.", nameof(site));
        return (entry.Values.ToArray(), entry.Values.Count / entry.Channels, entry.Channels);
    }

    private sealed class Probe(CalibrationSample sample) : IActivationProbe
    {
        public bool Wants(int layer, ProbeSite site) => Sites.Contains(site);

        public void Observe(in ProbeContext context, Tensor activation)
        {
            int channels = context.ChannelsOf(activation);
            var wanted = new List<long>();
            for (int row = 0; row < context.Rows; row++)
                if (context.TokenIndex(row) % sample.Stride == 0) wanted.Add(row);
            if (wanted.Count == 0) return;
            var key = (context.Layer, context.Site);
            if (!sample._rows.TryGetValue(key, out var entry)) sample._rows.Add(key, entry = (channels, new List<float>()));
            using var scope = NewDisposeScope();
            using Tensor index = tensor(wanted.ToArray(), ScalarType.Int64, activation.device);
            using Tensor picked = activation.index_select(0, index).to(ScalarType.Float32, CPU).contiguous();
            entry.Values.AddRange(picked.data<float>().ToArray());
        }
    }
}
