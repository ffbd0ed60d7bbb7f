using Optimizer.Engine.Calibration;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Model;
using Optimizer.Engine.Quantization.Imatrix;

namespace Optimizer.Engine.Diagnostics;

/// <summary>
/// Builds an <see cref="ImportanceMatrix"/> from the probed forward's statistics. The input of every linear weight is a
/// probe site the forward already offers: attn_q/k/v multiply <c>attn.y2</c> (the attention norm's output), attn_output
/// <c>attn.out</c> (the attention output before o_proj), ffn_gate/up <c>y2</c> (the FFN norm's output) and ffn_down
/// <c>y6</c> (the gated product). With <see cref="AnalysisOptions.ImportanceMatrix"/> the statistics accumulate, at those
/// four sites only, the per-channel float64 sums of x and x² in the same pass as their per-channel max and mean |x|
/// (<see cref="ActivationStatisticsOptions.ChannelMomentSites"/>), so no extra forward and no extra sweep over the
/// activations is needed. Semantics follow llama-imatrix (QUANT-NOTES §1.1): every calibration token counts once per
/// weight, a chunk is one calibration sequence (BOS first, as llama-imatrix's chunks), and q/k/v (gate/up) share the
/// sums of their common input.
/// </summary>
public static class ImportanceCollection
{
    /// <summary>The probe site whose activation each linear role multiplies.</summary>
    public static ProbeSite InputSite(TensorRole role) => role switch
    {
        TensorRole.Q or TensorRole.K or TensorRole.V => ProbeSite.AttnY2,
        TensorRole.O => ProbeSite.AttnOut,
        TensorRole.Gate or TensorRole.Up => ProbeSite.Y2,
        TensorRole.Down => ProbeSite.Y6,
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "Not a linear weight of a decoder block."),
    };

    /// <summary>The four sites that feed the linear weights.</summary>
    public static readonly IReadOnlySet<ProbeSite> Sites = new HashSet<ProbeSite> { ProbeSite.AttnY2, ProbeSite.AttnOut, ProbeSite.Y2, ProbeSite.Y6 };

    /// <summary>The dataset names recorded for a calibration source: the text files as the manifest records them, or the self-sampling seed.</summary>
    public static IReadOnlyList<string> DatasetNames(CalibrationSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return source.Kind == CalibrationSourceKind.Text
            ? source.Files.Select(f => f.Path).ToArray()
            : new[] { $"self-sampled (seed {source.Seed})" };
    }

    /// <summary>The importance matrix of an analysis run with <see cref="AnalysisOptions.ImportanceMatrix"/>.</summary>
    public static ImportanceMatrix FromAnalysis(ActivationAnalysis analysis)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        return FromStatistics(analysis.Statistics, analysis.Config, analysis.Calibration, analysis.Model.Path);
    }

    /// <summary>
    /// The importance matrix of <paramref name="statistics"/> (which must hold the channel moments of
    /// <see cref="Sites"/> in every layer) for <paramref name="config"/>'s model over <paramref name="calibration"/>: Σx²
    /// and Σx rounded once from float64 to float32, the token count per weight, chunk size = sequence length, chunk
    /// count = sequences. <paramref name="modelPath"/> is named in errors.
    /// </summary>
    public static ImportanceMatrix FromStatistics(ActivationStatistics statistics, ModelConfig config, CalibrationSet calibration, string? modelPath = null)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(calibration);
        var entries = new List<ImatrixEntry>();
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            foreach (var role in ImportanceMatrix.LinearRoles)
            {
                ProbeSite site = InputSite(role);
                if (!statistics.TryGet(layer, site, out var stats) || !stats!.HasChannelMoments)
                    throw new InvalidOperationException($"Layer {layer} {ProbeSites.Id(site)} has no channel moments; run the statistics with ChannelMomentSites including it.");
                string name = LlamaGgufNames.Name(role, layer);
                float[] sumSquares = Round(stats.ChannelSumSquares), sums = Round(stats.ChannelSum);
                for (int j = 0; j < sumSquares.Length; j++)
                {
                    if (!float.IsFinite(sumSquares[j]) || !float.IsFinite(sums[j]))
                        throw new OptimizerException(ErrorCodes.ImatrixValueInvalid,
                            $"Tensor '{name}': the calibration activations at layer {layer} {ProbeSites.Id(site)} channel {j} sum to a non-finite value "
                            + "(NaN or overflow in the forward pass); no importance matrix can be built.", modelPath);
                }
                entries.Add(new ImatrixEntry(name, sumSquares, sums, new[] { stats.TokenCount }));
            }
        }
        return new ImportanceMatrix(entries, calibration.Sequences.Count, calibration.SequenceLength, DatasetNames(calibration.Source));
    }

    private static float[] Round(ReadOnlySpan<double> values)
    {
        var rounded = new float[values.Length];
        for (int i = 0; i < values.Length; i++) rounded[i] = (float)values[i];
        return rounded;
    }
}
