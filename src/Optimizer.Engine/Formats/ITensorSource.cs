namespace Optimizer.Engine.Formats;

/// <summary>
/// Read access to a model's stored tensors, without copying them into managed memory: the bytes are views of a
/// memory map (or of native memory) that stay valid until the source is disposed.
/// </summary>
public interface ITensorSource : IDisposable
{
    /// <summary>All tensors, ordered by name (ordinal).</summary>
    IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>The tensor with this name, or null.</summary>
    TensorInfo? Find(string name);

    /// <summary>
    /// The raw little-endian bytes of <paramref name="tensor"/>, in chunks of at most <paramref name="maxChunk"/>
    /// bytes (a span cannot exceed 2 GiB). The callback receives each chunk and its offset inside the tensor.
    /// </summary>
    void ReadBytes(TensorInfo tensor, ReadOnlySpanAction<byte, long> onChunk, int maxChunk = 1 << 30);
}

/// <summary>A callback over a read-only span with one extra argument.</summary>
public delegate void ReadOnlySpanAction<T, in TArg>(ReadOnlySpan<T> span, TArg arg);
