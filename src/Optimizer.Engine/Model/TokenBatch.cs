using static TorchSharp.torch;

namespace Optimizer.Engine.Model;

/// <summary>Conversion and validation of token-id batches for <see cref="LlamaModel"/>.</summary>
internal static class TokenBatch
{
    /// <summary>Equal-length sequences → int64 tensor [B, T] on the CPU.</summary>
    public static Tensor ToTensor(IReadOnlyList<int[]> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0) throw new ArgumentException("The batch is empty.", nameof(batch));
        int length = batch[0]?.Length ?? throw new ArgumentException("Sequence 0 is null.", nameof(batch));
        var flat = new long[checked(batch.Count * length)];
        for (int b = 0; b < batch.Count; b++)
        {
            int[] row = batch[b] ?? throw new ArgumentException($"Sequence {b} is null.", nameof(batch));
            if (row.Length != length)
                throw new ArgumentException($"Sequence {b} has {row.Length} tokens; sequence 0 has {length}. A batch needs equal lengths.", nameof(batch));
            for (int t = 0; t < length; t++) flat[b * length + t] = row[t];
        }
        return tensor(flat, new long[] { batch.Count, length });
    }

    /// <summary>
    /// Checks shape [B, T] (B, T ≥ 1) and an integer dtype, and that every id is inside the vocabulary; returns the ids
    /// batch-major as a managed array (small: B·T values).
    /// </summary>
    public static long[] Validate(Tensor inputIds, int vocabSize, out int batch, out int length)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        if (inputIds.dim() != 2 || inputIds.shape[0] < 1 || inputIds.shape[1] < 1)
            throw new ArgumentException($"Token ids must be shaped [B, T] with B, T >= 1, not [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        if (inputIds.dtype is not (ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte))
            throw new ArgumentException($"Token ids must be integers, not {inputIds.dtype}.", nameof(inputIds));
        batch = checked((int)inputIds.shape[0]);
        length = checked((int)inputIds.shape[1]);
        using Tensor cpuIds = inputIds.to(ScalarType.Int64, CPU, copy: true).contiguous();
        long[] ids = cpuIds.data<long>().ToArray();
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] < 0 || ids[i] >= vocabSize)
                throw new OptimizerException(ErrorCodes.TokenOutOfRange,
                    $"Token id {ids[i]} (sequence {i / length}, position {i % length}) is outside the vocabulary (size {vocabSize}).");
        }
        return ids;
    }
}
