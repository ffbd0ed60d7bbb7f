using System.Runtime.InteropServices;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// The weights of a Llama-family GGUF file seen with Hugging Face names, shapes and row order: q/k rows of the
/// <c>llama</c> architecture are put back in rotate-half order (the inverse of the converter's permutation), F32, F16
/// and BF16 tensors are presented as stored and Q8_0 tensors dequantized to F32. Tensors that need either are built
/// in memory when read (one at a time); the others are spans over the memory map. Owns and disposes the file.
/// </summary>
public sealed class GgufTensorSource : ITensorSource
{
    private readonly GgufFile _file;
    private readonly Dictionary<string, Entry> _byName;

    /// <summary>Blocks per chunk when a tensor is read into memory (Q8_0: 34 bytes each, so about 2 MiB).</summary>
    private const int ChunkBlocks = 1 << 16;

    /// <param name="NormShift">A Gemma norm stored as its multiplier 1 + γ: presented as γ (docs/model-families.md, "Gemma 2 and Gemma 3 text").</param>
    private sealed record Entry(TensorInfo Info, GgufTensorInfo Stored, int PermutedHeads, bool NormShift = false);

    internal GgufTensorSource(GgufFile file, ModelConfig config)
    {
        _file = file;
        string fileName = System.IO.Path.GetFileName(file.Path);
        var entries = new List<Entry>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (role, layer, hfName, hfShape) in LlamaTensorNames.Expected(config))
        {
            string ggufName = LlamaGgufNames.Name(role, Math.Max(0, layer));
            string name = hfName;
            long[] shape = hfShape;
            if (config.HasFusedProjections)
            {
                // phi3: attn_qkv and the fused ffn_up are presented under the checkpoint's fused names; FusedTensorSource
                // splits them (docs/model-families.md, "Phi-3").
                if (role is TensorRole.K or TensorRole.V or TensorRole.Up) continue;
                if (role is TensorRole.Q or TensorRole.Gate)
                {
                    ggufName = LlamaGgufNames.FusedName(role, layer);
                    name = Phi3Names.FusedName(role, layer)!;
                    shape = Phi3Names.Fused(config).First(f => f.Name == name).Shape;
                }
            }
            var stored = file.Find(ggufName)
                ?? throw new OptimizerException(ErrorCodes.TensorMissing, $"The GGUF file has no tensor '{ggufName}' ({name}), which the model requires.", file.Path);
            used.Add(ggufName);
            if (!stored.Shape.AsSpan().SequenceEqual(shape))
                throw new OptimizerException(ErrorCodes.TensorShapeMismatch,
                    $"GGUF tensor '{ggufName}' has shape [{string.Join(", ", stored.Shape)}] (ggml dims [{string.Join(", ", stored.Dimensions)}]) but the metadata implies [{string.Join(", ", shape)}].", file.Path);
            DType dtype = stored.Type switch
            {
                GgmlType.F32 or GgmlType.Q8_0 => DType.F32,
                GgmlType.F16 => DType.F16,
                GgmlType.BF16 => DType.BF16,
                _ => throw new OptimizerException(ErrorCodes.GgufTensorTypeUnsupported,
                    $"GGUF tensor '{ggufName}' is {stored.TypeName}; model input reads F32, F16, BF16 and Q8_0 tensors only (re-export the model at Q8_0 or higher precision).", file.Path),
            };
            bool normShift = config.IsGemma && GemmaGguf.IsNorm(role);
            if (normShift && stored.Type != GgmlType.F32)
                throw new OptimizerException(ErrorCodes.GgufTensorTypeUnsupported,
                    $"GGUF tensor '{ggufName}' is {stored.TypeName}; Gemma norm weights are read as F32 only (their stored 1 + γ is turned back into γ).", file.Path);
            long length = checked(stored.ElementCount * DTypes.SizeOf(dtype));
            var info = new TensorInfo(name, dtype, shape, fileName, file.DataOffset + stored.Offset, length);
            entries.Add(new Entry(info, stored, LlamaGgufNames.PermutedHeads(role, config), normShift));
        }
        if (config.RopeFrequencyDivisors is not null) used.Add(LlamaGgufNames.RopeFrequencies);
        if (config.Rope.Kind == RopeScalingKind.Longrope)
        {
            used.Add(LlamaGgufNames.RopeFactorsLong);
            used.Add(LlamaGgufNames.RopeFactorsShort);
        }
        foreach (var extra in file.Tensors.Where(t => !used.Contains(t.Name)))
            throw new OptimizerException(ErrorCodes.GgufModelInvalid,
                $"GGUF tensor '{extra.Name}' is not part of the {config.ModelType} model described by the metadata; the engine would ignore it and compute something else.", file.Path);
        _byName = entries.ToDictionary(e => e.Info.Name, StringComparer.Ordinal);
        Tensors = entries.Select(e => e.Info).OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>The GGUF file the weights come from.</summary>
    public GgufFile File => _file;

    /// <summary>
    /// How the tensor named <paramref name="name"/> (Hugging Face name) is stored in the file: its ggml type (e.g.
    /// <c>Q8_0</c>, which <see cref="Tensors"/> presents as F32) and its byte count there.
    /// </summary>
    public GgufTensorInfo? Stored(string name) => _byName.TryGetValue(name, out var entry) ? entry.Stored : null;

    /// <inheritdoc/>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <inheritdoc/>
    public TensorInfo? Find(string name) => _byName.GetValueOrDefault(name)?.Info;

    /// <inheritdoc/>
    public void ReadBytes(TensorInfo tensor, ReadOnlySpanAction<byte, long> onChunk, int maxChunk = 1 << 30)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(onChunk);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxChunk);
        if (!_byName.TryGetValue(tensor.Name, out var entry) || entry.Info.Offset != tensor.Offset || entry.Info.Length != tensor.Length)
            throw new ArgumentException($"Tensor '{tensor.Name}' does not belong to {_file.Path}.", nameof(tensor));
        if (entry.PermutedHeads == 0 && entry.Stored.Type != GgmlType.Q8_0 && !entry.NormShift)
        {
            _file.ReadBytes(entry.Stored, onChunk, maxChunk);
            return;
        }
        byte[] bytes = Materialize(entry);
        for (long position = 0; position < bytes.Length; position += maxChunk)
        {
            int length = (int)Math.Min(maxChunk, bytes.Length - position);
            onChunk(bytes.AsSpan((int)position, length), position);
        }
    }

    private byte[] Materialize(Entry entry)
    {
        if (entry.Info.Length > Array.MaxLength)
            throw new OptimizerException(ErrorCodes.TensorTooLarge, $"Tensor '{entry.Info.Name}' has {entry.Info.Length} bytes, more than one array can hold.", _file.Path);
        // Read through ReadBytes (not one span over the map) so that each chunk's pages leave the resident set once
        // consumed; Q8_0 chunks are whole blocks, dequantized straight into the F32 result.
        var bytes = new byte[entry.Info.Length];
        if (entry.Stored.Type == GgmlType.Q8_0)
        {
            int blockBytes = GgmlTypes.BlockBytes(GgmlType.Q8_0);
            int blockSize = GgmlTypes.BlockSize(GgmlType.Q8_0);
            _file.ReadBytes(entry.Stored, (chunk, position) =>
            {
                long first = position / blockBytes * blockSize;
                int count = chunk.Length / blockBytes * blockSize;
                GgmlQuantizer.Dequantize(GgmlType.Q8_0, chunk, MemoryMarshal.Cast<byte, float>(bytes.AsSpan()).Slice(checked((int)first), count));
            }, ChunkBlocks * blockBytes);
        }
        else
        {
            _file.ReadBytes(entry.Stored, (chunk, position) => chunk.CopyTo(bytes.AsSpan(checked((int)position))), ChunkBlocks * 32);
        }
        if (entry.NormShift)
        {
            // Exact: for a multiplier in [0.5, 2] the float subtraction of 1 is exact, and 1 + γ gives it back.
            var values = MemoryMarshal.Cast<byte, float>(bytes.AsSpan());
            for (int i = 0; i < values.Length; i++) values[i] -= 1f;
        }
        if (entry.PermutedHeads == 0) return bytes;
        long cols = entry.Info.Shape.Length == 2 ? entry.Info.Shape[1] : 1;
        int rowBytes = checked((int)(cols * DTypes.SizeOf(entry.Info.DType)));
        return QkRowPermutation.Apply<byte>(bytes, entry.PermutedHeads, rowBytes, inverse: true);
    }

    /// <summary>Unmaps the GGUF file.</summary>
    public void Dispose() => _file.Dispose();
}
