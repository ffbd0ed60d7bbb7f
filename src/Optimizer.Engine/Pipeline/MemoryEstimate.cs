using Optimizer.Engine.Formats;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Pipeline;

/// <summary>
/// The up-front peak-memory estimate of an optimize run with layer streaming (one decoder layer resident at a time):
/// the largest decoder layer in F32 (twice: the layer being run and the transformed/quantized view computing it), the
/// resident embedding, output head and final norm in F32 once per model alive at the same time, the activations of one
/// calibration batch, and one chunk of vocabulary-sized logits. The evaluation holds the reference, its candidates and
/// one model calibrating static activation scales, so <see cref="Check"/> chooses how many candidates may be alive at
/// once within the budget, and fails with <see cref="ErrorCodes.MemoryBudgetExceeded"/> when even one does not fit.
/// </summary>
/// <param name="LargestLayerBytes">The largest decoder layer's weights in F32.</param>
/// <param name="ResidentBytes">Embedding, output head (when not tied) and final norm in F32.</param>
/// <param name="ActivationBytes">Activations of one calibration batch (hidden states, the widest FFN intermediate, attention scores).</param>
/// <param name="LogitsBytes">One chunk of vocabulary-sized logits (reference and candidate log-probabilities, float64).</param>
public sealed record MemoryEstimate(long LargestLayerBytes, long ResidentBytes, long ActivationBytes, long LogitsBytes)
{
    /// <summary>
    /// The peak of one error-compensating rounding pass (docs/quantization.md): the residual streams of every calibration
    /// token, one layer's Hessians in float64 (three hidden² and one intermediate²) with the Cholesky workspace of the
    /// widest (six more of its n² float64), the layer's weights twice and the resident tensors once; 0 when none runs.
    /// </summary>
    public long CompensationBytes { get; init; }

    /// <summary>The encodings one compensated candidate keeps until the file is written (its linear weights at the recipe's size).</summary>
    public long EncodedBytes { get; init; }

    /// <summary>Compensated candidates whose encodings are alive during the evaluation (0, 1 or 2).</summary>
    public int CompensatedCandidates { get; init; }

    /// <summary>
    /// With error-compensating rounding: this estimate plus its cost for <paramref name="calibrationTokens"/> tokens and
    /// <paramref name="candidates"/> compensated candidates of <paramref name="encodedBytes"/> each.
    /// </summary>
    public MemoryEstimate WithCompensation(ModelConfig config, long calibrationTokens, long encodedBytes, int candidates)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (candidates <= 0) return this with { CompensationBytes = 0, EncodedBytes = 0, CompensatedCandidates = 0 };
        long hidden = config.HiddenSize, inter = config.IntermediateSize;
        long widest = Math.Max(hidden, inter);
        long hessians = 8 * (3 * hidden * hidden + inter * inter) + 6 * 8 * widest * widest;
        long streams = 2 * 4 * calibrationTokens * hidden;
        long stage = checked(2 * LargestLayerBytes + ResidentBytes + streams + hessians + ActivationBytes + encodedBytes * candidates);
        return this with { CompensationBytes = stage, EncodedBytes = encodedBytes, CompensatedCandidates = candidates };
    }

    /// <summary>Elements per logits chunk (ModelComparison compares vocabulary-sized rows in chunks of 4 Mi elements).</summary>
    public const long LogitsChunkElements = 1L << 22;

    /// <summary>Models alive besides the candidates during evaluation: the reference and a static-scale calibration model.</summary>
    public const int ExtraModels = 2;

    /// <summary>The estimated peak in bytes with <paramref name="models"/> models alive at once.</summary>
    public long PeakFor(int models) => Math.Max(CompensationBytes,
        checked(2 * LargestLayerBytes + ResidentBytes * models + ActivationBytes + LogitsBytes + EncodedBytes * CompensatedCandidates));

    /// <summary>The smallest possible peak: one candidate at a time.</summary>
    public long PeakBytes => PeakFor(1 + ExtraModels);

    /// <summary>Estimates the run of <paramref name="config"/> with these weights, batch size and sequence length.</summary>
    public static MemoryEstimate For(ModelConfig config, ITensorSource weights, int batchSize, int sequenceLength)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        var perLayer = new long[Math.Max(config.NumHiddenLayers, 1)];
        long resident = 0;
        foreach (var (role, layer, name, shape) in LlamaTensorNames.Expected(config))
        {
            long elements = weights.Find(name)?.ElementCount ?? shape.Aggregate(1L, (n, d) => checked(n * d));
            if (LlamaTensorNames.IsPerLayer(role)) perLayer[layer] += elements * 4;
            else resident += elements * 4;
        }
        if (config.TieWordEmbeddings) resident += (long)config.VocabSize * config.HiddenSize * 4;
        long tokens = (long)batchSize * sequenceLength;
        long width = Math.Max(config.HiddenSize, 2L * config.IntermediateSize);
        long attention = (long)batchSize * config.NumAttentionHeads * sequenceLength * sequenceLength;
        long activations = 4 * (tokens * (6L * config.HiddenSize + 2 * width) + 2 * attention);
        long logitRows = Math.Max(1, Math.Min(tokens, LogitsChunkElements / Math.Max(config.VocabSize, 1)));
        long logits = logitRows * config.VocabSize * (4 + 8 + 8) + tokens * config.VocabSize * 4;
        return new MemoryEstimate(perLayer.Max(), resident, activations, logits);
    }

    /// <summary>The estimate of an optimize run with <paramref name="options"/>: <see cref="For"/> plus its error-compensating rounding.</summary>
    public static MemoryEstimate ForRun(OptimizeOptions options, ModelConfig config, ITensorSource weights)
    {
        ArgumentNullException.ThrowIfNull(options);
        return For(config, weights, options.BatchSize, options.SequenceLength)
            .WithCompensation(config, options.CalibrationTokens, CompensatedEncodingBytes(options, config), CompensatedCandidateCount(options));
    }

    /// <summary>How many compensated candidates a run may build (an upper bound: the mitigated one needs kept transforms).</summary>
    private static int CompensatedCandidateCount(OptimizeOptions options)
    {
        if (options.Format != OutputFormat.Gguf) return 0;
        if (options.Candidates is { } only) return only.Count(c => c is "compensated" or "mitigated-compensated" or "awq-compensated");
        if (options.Search == SearchMode.Quick) return 1;
        return 1 + (Engine.Transforms.Mitigations.Parse(options.Mitigations) != Engine.Transforms.Mitigation.None ? 1 : 0) + (options.MitigationsExplicit ? 0 : 1);
    }

    /// <summary>The bytes of one compensated candidate's encodings: the linear weights in the recipe's types.</summary>
    private static long CompensatedEncodingBytes(OptimizeOptions options, ModelConfig config)
    {
        if (options.Format != OutputFormat.Gguf) return 0;
        return new GgufRoundTrip(QuantizationRecipe.Parse(options.EffectiveQuant), config).TensorBytes((_, layer, shape) => layer >= 0 && shape.Length == 2);
    }

    /// <summary>
    /// The number of evaluation candidates (at most <paramref name="wanted"/>) that may be alive at once within
    /// <paramref name="budgetBytes"/>; throws <see cref="ErrorCodes.MemoryBudgetExceeded"/> when one at a time does not fit.
    /// </summary>
    public int Check(long budgetBytes, string modelName, int wanted)
    {
        if (PeakBytes > budgetBytes)
            throw new OptimizerException(ErrorCodes.MemoryBudgetExceeded,
                $"Model '{modelName}' needs an estimated {ByteSize.Format(PeakBytes)} at peak (largest layer {ByteSize.Format(LargestLayerBytes)} x 2, "
                + $"embedding/head {ByteSize.Format(ResidentBytes)} x {1 + ExtraModels} models, activations {ByteSize.Format(ActivationBytes)}, "
                + $"logits {ByteSize.Format(LogitsBytes)}"
                + (CompensatedCandidates > 0 ? $", error-compensating rounding {ByteSize.Format(CompensationBytes)} with {CompensatedCandidates} encoding(s) of {ByteSize.Format(EncodedBytes)}" : "")
                + $"), more than the budget of {ByteSize.Format(budgetBytes)} (max-memory); --search quick or --candidates without the compensated ones need less.");
        int candidates = Math.Max(1, wanted);
        while (candidates > 1 && PeakFor(candidates + ExtraModels) > budgetBytes) candidates--;
        return candidates;
    }
}
