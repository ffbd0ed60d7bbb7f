using System.Runtime.InteropServices;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Quantization.ErrorCompensation;
using Optimizer.Engine.Quantization.Imatrix;

namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// Writes a Llama-family model as a GGUF file that llama.cpp loads: llama.cpp tensor names, the q/k row permutation
/// of the <c>llama</c> architecture (qwen2 and qwen3 are written as themselves without it, mistral as <c>llama</c>), every
/// hyper-parameter llama.cpp reads (RoPE scaling: linear as metadata, llama3 as the <c>rope_freqs</c> tensor), <c>general.*</c> keys, tokenizer metadata from the model's tokenizer, and each
/// tensor encoded in the type its recipe chooses. At most two tensors are in memory at a time (one being encoded
/// and written while the previous one's quantization error is measured); the file appears only when
/// complete (a failed or cancelled export leaves none).
/// </summary>
public static class LlamaGgufExporter
{
    /// <summary>The value of <c>general.quantization_version</c> (ggml's <c>GGML_QNT_VERSION</c>).</summary>
    public const uint QuantizationVersion = 2;

    /// <summary>llama-quantize's provenance keys, written when an importance matrix is used (quantize.cpp).</summary>
    public const string ImatrixFileKey = "quantize.imatrix.file", ImatrixDatasetKey = "quantize.imatrix.dataset",
        ImatrixEntriesKey = "quantize.imatrix.entries_count", ImatrixChunksKey = "quantize.imatrix.chunks_count";

    /// <summary>
    /// Exports <paramref name="weights"/> (Hugging Face names, F32/F16/BF16: <paramref name="model"/>'s weights or a
    /// transformed view of them) with <paramref name="model"/>'s config and tokenizer to <paramref name="path"/>, each
    /// tensor in the type <paramref name="recipe"/> chooses. Reports progress after each tensor; <paramref name="ct"/>
    /// cancels between tensors (no file is left). Returns per-tensor types, sizes and relative RMSE, the file size and
    /// its SHA-256. With <paramref name="importance"/> (describing the inputs of <paramref name="weights"/>, GGUF names),
    /// every tensor that has an entry is quantized with its per-column weights
    /// (<see cref="GgmlQuantizer.QuantizeMatrix(GgmlType, ReadOnlySpan{float}, long, long, ReadOnlySpan{float})"/>) and
    /// llama-quantize's <c>quantize.imatrix.*</c> keys are added after the other metadata. Tensors that
    /// <paramref name="encoded"/> holds (error-compensating rounding, in the recipe's types) are written as encoded — only
    /// the q/k row permutation is applied to their rows — and the others quantized as usual.
    /// </summary>
    public static GgufExportResult Export(ModelFolder model, ITensorSource weights, QuantizationRecipe recipe,
        string path, IProgress<GgufExportProgress>? progress, CancellationToken ct, ImportanceMatrix? importance = null, EncodedWeights? encoded = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(recipe);
        ArgumentNullException.ThrowIfNull(path);
        var config = model.Config;
        string arch = LlamaGgufNames.Architecture(config);
        GemmaGguf.Check(config, model.Path);
        var plan = new List<(TensorRole Role, int Layer, string HfName, long[] Shape, TensorInfo Source, GgmlType Type, TensorInfo[]? Parts)>();
        var sources = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
        foreach (var (role, layer, name, shape) in LlamaTensorNames.Expected(config))
        {
            var source = weights.Find(name)
                ?? throw new OptimizerException(ErrorCodes.TensorMissing, $"The weights have no tensor '{name}', which the config requires.", model.Path);
            if (!source.Shape.AsSpan().SequenceEqual(shape))
                throw new OptimizerException(ErrorCodes.TensorShapeMismatch, $"Tensor '{name}' has shape {source.ShapeText} but the config implies [{string.Join(", ", shape)}].", model.Path);
            sources[name] = source;
        }
        foreach (var (role, layer, hfName, hfShape) in LlamaTensorNames.Expected(config))
        {
            string name = hfName;
            long[] shape = hfShape;
            var source = sources[name];
            TensorInfo[]? parts = null;
            if (config.HasFusedProjections)
            {
                // llama.cpp's phi3 reads q/k/v as one attn_qkv and gate/up as one ffn_up [2·I] (docs/model-families.md, "Phi-3").
                if (role is TensorRole.K or TensorRole.V or TensorRole.Up) continue;
                if (role is TensorRole.Q or TensorRole.Gate)
                {
                    parts = role == TensorRole.Q
                        ? new[] { source, sources[LlamaTensorNames.Name(TensorRole.K, layer)], sources[LlamaTensorNames.Name(TensorRole.V, layer)] }
                        : new[] { source, sources[LlamaTensorNames.Name(TensorRole.Up, layer)] };
                    shape = new[] { parts.Sum(p => p.Shape[0]), shape[1] };
                    name = Phi3Names.FusedName(role, layer)!;
                }
            }
            // As llama-quantize: an importance matrix also changes some types (Q4_0/Q5_0 ffn_down of the first eighth).
            GgmlType type = parts is null ? recipe.TypeFor(name, role, layer, shape, config, withImportance: importance is not null)
                // llama.cpp's quantizer gives attn_qkv the attn_v rules (its ATTENTION_QKV category counts as attn_v) and
                // the fused ffn_up the ffn_up rules (docs/model-families.md, "Phi-3").
                : recipe.TypeFor(name, LlamaGgufNames.TypeRole(role, config), layer, shape, config, withImportance: importance is not null);
            plan.Add((role, layer, name, shape, source, type, parts));
        }

        var writer = new GgufWriter();
        writer.Add(GgufKeys.Architecture, arch);
        writer.Add(GgufKeys.Name, System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(model.Path)));
        writer.Add(GgufKeys.Alignment, (uint)GgufParser.DefaultAlignment);
        writer.Add(GgufKeys.FileType, (uint)recipe.FileType);
        writer.Add(GgufKeys.QuantizationVersion, QuantizationVersion);
        AddHyperParameters(writer, arch, config);
        GemmaGguf.AddHyperParameters(writer, arch, config);
        foreach (var (key, value) in GgufTokenizerMetadata.FromModel(model)) writer.Add(key, value);
        if (importance is not null) AddImatrixKeys(writer, importance);

        // llama.cpp's converter writes the llama3 RoPE divisors as the first tensor, rope_freqs (F32, one per pair).
        float[]? ropeFrequencies = RopeFrequencyDivisors(config);
        // phi3's longrope: rope_factors_long and rope_factors_short first, as llama.cpp's converter writes them.
        var extraTensors = new List<(string Name, float[] Values)>();
        if (ropeFrequencies is not null) extraTensors.Add((LlamaGgufNames.RopeFrequencies, ropeFrequencies));
        if (config.RopeFrequencyDivisors is null && config.Rope is { Kind: RopeScalingKind.Longrope } longrope)
        {
            extraTensors.Add((LlamaGgufNames.RopeFactorsLong, longrope.LongFactors!.Select(f => (float)f).ToArray()));
            extraTensors.Add((LlamaGgufNames.RopeFactorsShort, longrope.ShortFactors!.Select(f => (float)f).ToArray()));
        }
        int extra = extraTensors.Count;
        int total = plan.Count + extra;
        var exported = new GgufExportedTensor[total];
        for (int e = 0; e < extraTensors.Count; e++)
        {
            var (extraName, extraValues) = extraTensors[e];
            writer.AddTensor(extraName, new long[] { extraValues.Length }, GgmlType.F32,
                stream => stream.Write(MemoryMarshal.AsBytes(extraValues.AsSpan())));
            exported[e] = new GgufExportedTensor(extraName, extraName, GgmlType.F32, (long)extraValues.Length * sizeof(float), 0);
        }
        PendingError? pending = null;
        for (int index = 0; index < plan.Count; index++)
        {
            var item = plan[index];
            int i = index + extra;
            string ggufName = item.Parts is null ? LlamaGgufNames.Name(item.Role, Math.Max(0, item.Layer)) : LlamaGgufNames.FusedName(item.Role, item.Layer);
            writer.AddTensor(ggufName, item.Shape, item.Type, stream =>
            {
                ct.ThrowIfCancellationRequested();
                float[] values = GemmaGguf.Stored(config, item.Role, item.Parts is null ? TensorData.ReadFloat32(weights, item.Source) : ReadFused(weights, item.Parts));
                int heads = LlamaGgufNames.PermutedHeads(item.Role, config);
                if (heads > 0) values = QkRowPermutation.Apply<float>(values, heads, item.Shape.Length == 2 ? item.Shape[1] : 1, inverse: false);
                long cols = item.Shape[^1];
                long rows = cols == 0 ? 0 : values.Length / cols;
                if (item.Type == GgmlType.F32)
                {
                    stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
                    exported[i] = new GgufExportedTensor(ggufName, item.HfName, item.Type, (long)values.Length * sizeof(float), 0);
                    return;
                }
                byte[] bytes;
                if (encoded is not null && item.Parts is not null && FusedEncoding(encoded, item.Parts, item.Type, rows, cols) is { } fusedBytes)
                {
                    bytes = fusedBytes;
                }
                else if (encoded is not null && encoded.Tensors.TryGetValue(item.HfName, out EncodedTensor? chosen))
                {
                    if (chosen.Type != item.Type || chosen.Rows != rows || chosen.Cols != cols)
                        throw new InvalidOperationException($"{item.HfName} was encoded as {GgmlTypes.Name(chosen.Type)} {chosen.Rows} × {chosen.Cols}, "
                            + $"the file stores {GgmlTypes.Name(item.Type)} {rows} × {cols}.");
                    bytes = heads > 0 ? QkRowPermutation.Apply<byte>(chosen.Bytes, heads, GgmlQuantizer.RowBytes(item.Type, cols), inverse: false) : chosen.Bytes;
                }
                else
                {
                    float[]? weightsOfColumns = null;
                    importance?.TryGetQuantWeights(ggufName, out weightsOfColumns);
                    // q, k and v read the same input: an attn_q entry stands for the fused attn_qkv.
                    if (weightsOfColumns is null && item.Parts is not null && item.Role == TensorRole.Q)
                        importance?.TryGetQuantWeights(LlamaGgufNames.Name(TensorRole.Q, item.Layer), out weightsOfColumns);
                    bytes = GgmlQuantizer.QuantizeMatrix(item.Type, values, rows, cols, weightsOfColumns);
                }
                // The round-trip error is measured on another thread while this tensor is written and the next one is
                // read and encoded; at most one measurement is pending, so at most two tensors are held at a time.
                pending?.Complete();
                var error = Task.Run(() => EncodedTensorError.RelativeRmse(item.Type, values, bytes, rows, cols));
                pending = new PendingError(error, rmse => exported[i] = new GgufExportedTensor(ggufName, item.HfName, item.Type, bytes.Length, rmse));
                stream.Write(bytes);
            });
        }
        var result = writer.Write(path, (i, info) => progress?.Report(new GgufExportProgress(i, total, info.Name, info.Type)), ct);
        pending?.Complete();
        return new GgufExportResult(result.Path, result.Bytes, result.Sha256, recipe.FileType, exported);
    }

    /// <summary>The rows of <paramref name="parts"/> one after the other (phi3's fused attn_qkv and ffn_up).</summary>
    private static float[] ReadFused(ITensorSource weights, TensorInfo[] parts)
    {
        var arrays = parts.Select(p => TensorData.ReadFloat32(weights, p)).ToArray();
        var values = new float[arrays.Sum(a => (long)a.Length)];
        long offset = 0;
        foreach (var a in arrays)
        {
            a.CopyTo(values, offset);
            offset += a.Length;
        }
        return values;
    }

    /// <summary>
    /// The encoded rows of a fused tensor when every part was encoded in its type (blocks never span rows, so the parts'
    /// bytes concatenate); null when none was; a mix cannot be written.
    /// </summary>
    private static byte[]? FusedEncoding(EncodedWeights encoded, TensorInfo[] parts, GgmlType type, long rows, long cols)
    {
        var chosen = parts.Select(p => encoded.Tensors.TryGetValue(p.Name, out EncodedTensor? e) ? e : null).ToArray();
        if (chosen.All(c => c is null)) return null;
        if (chosen.Any(c => c is null || c.Type != type || c.Cols != cols) || chosen.Sum(c => c!.Rows) != rows)
            throw new InvalidOperationException($"The parts {string.Join(", ", parts.Select(p => p.Name))} were not all encoded as {GgmlTypes.Name(type)} rows of {cols}, "
                + "which their fused tensor needs.");
        return chosen.SelectMany(c => c!.Bytes).ToArray();
    }

    /// <summary>A relative RMSE being computed and where its result goes.</summary>
    private sealed record PendingError(Task<double> Error, Action<double> Record)
    {
        public void Complete() => Record(Error.GetAwaiter().GetResult());
    }

    /// <summary>
    /// The keys llama-quantize adds with <c>--imatrix</c>: the file (its name only, so the output does not depend on
    /// where the file lay), the first dataset, the entry count and the chunk count (when known); strings cut to 127
    /// bytes and integers as u32, as llama.cpp stores its overrides.
    /// </summary>
    private static void AddImatrixKeys(GgufWriter writer, ImportanceMatrix importance)
    {
        if (importance.Source is { } source) writer.Add(ImatrixFileKey, Truncate(System.IO.Path.GetFileName(source)));
        if (importance.Datasets.Count > 0) writer.Add(ImatrixDatasetKey, Truncate(importance.Datasets[0]));
        writer.Add(ImatrixEntriesKey, (uint)importance.Entries.Count);
        if (importance.ChunkCount > 0) writer.Add(ImatrixChunksKey, (uint)importance.ChunkCount);
    }

    private static string Truncate(string text)
    {
        const int MaxBytes = 127;
        if (System.Text.Encoding.UTF8.GetByteCount(text) <= MaxBytes) return text;
        int length = text.Length;
        while (System.Text.Encoding.UTF8.GetByteCount(text.AsSpan(0, length)) > MaxBytes || (length > 0 && char.IsHighSurrogate(text[length - 1]))) length--;
        return text[..length];
    }

    /// <summary>
    /// The per-pair divisors llama.cpp reads from <c>rope_freqs</c> (its <c>freq_factors</c>) when the config's RoPE is
    /// llama3-scaled or was read from such a tensor; null for plain and linear RoPE (linear is written as metadata).
    /// </summary>
    internal static float[]? RopeFrequencyDivisors(ModelConfig config)
    {
        double[]? divisors = config.RopeFrequencyDivisors
            ?? (config.Rope.Kind == RopeScalingKind.Llama3 ? config.Rope.Divisors(config.HeadDim, config.RopeTheta) : null);
        return divisors?.Select(d => (float)d).ToArray();
    }

    private static void AddHyperParameters(GgufWriter writer, string arch, ModelConfig config)
    {
        writer.Add(GgufKeys.Arch(arch, GgufKeys.VocabSize), (uint)config.VocabSize);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.ContextLength), (uint)config.MaxPositionEmbeddings);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.EmbeddingLength), (uint)config.HiddenSize);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.BlockCount), (uint)config.NumHiddenLayers);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.FeedForwardLength), (uint)config.IntermediateSize);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.RopeDimensionCount), (uint)config.RotaryDims);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.RopeFreqBase), (float)config.RopeTheta);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.HeadCount), (uint)config.NumAttentionHeads);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.HeadCountKv), (uint)config.KeyValueHeads);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.RmsEpsilon), (float)config.RmsNormEps);
        if (config.RopeFrequencyDivisors is null && config.Rope is { Kind: RopeScalingKind.Linear } linear)
        {
            writer.Add(GgufKeys.Arch(arch, GgufKeys.RopeScalingType), "linear");
            writer.Add(GgufKeys.Arch(arch, GgufKeys.RopeScalingFactor), (float)linear.Factor);
        }
        if (config.Rope is { Kind: RopeScalingKind.Yarn } yarn)
        {
            // As llama.cpp's converter: the type, the factor and the original context; llama.cpp derives the ramp
            // (β_fast 32, β_slow 1) and the attention factor 0.1·ln(factor) + 1 itself (docs/model-families.md).
            writer.Add(GgufKeys.Arch(arch, GgufKeys.RopeScalingType), "yarn");
            writer.Add(GgufKeys.Arch(arch, GgufKeys.RopeScalingFactor), (float)yarn.Factor);
            writer.Add(GgufKeys.Arch(arch, GgufKeys.RopeScalingOriginalContext), (uint)config.YarnOriginalContext);
        }
        if (config.ModelType == "phi3")
        {
            // As llama.cpp's converter: sliding_window 0 when the config has none; llama.cpp ignores the window of phi3
            // (docs/model-families.md, "Phi-3").
            writer.Add(GgufKeys.Arch(arch, GgufKeys.SlidingWindow), (uint)(config.SlidingWindow ?? 0));
            if (config.Rope.Kind == RopeScalingKind.Longrope)
            {
                writer.Add(GgufKeys.Arch(arch, GgufKeys.RopeScalingOriginalContext), (uint)config.LongropeOriginalContext);
                writer.Add(GgufKeys.Arch(arch, GgufKeys.RopeScalingAttnFactor), (float)config.RopeAttentionFactor);
            }
        }
        if (config.HeadDimOverride is int headDim && config.ModelType != "phi3")
        {
            writer.Add(GgufKeys.Arch(arch, GgufKeys.KeyLength), (uint)headDim);
            writer.Add(GgufKeys.Arch(arch, GgufKeys.ValueLength), (uint)headDim);
        }
    }
}
