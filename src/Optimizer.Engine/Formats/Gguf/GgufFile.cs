using System.IO.MemoryMappedFiles;

namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// A GGUF file (version 2 or 3), validated completely on <see cref="Open"/> (magic, version, counts, strings, value
/// and tensor types, alignment, offsets, overlaps, truncation) and memory-mapped read-only: tensor bytes are spans over
/// the mapped pages, valid until the file is disposed.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly Dictionary<string, GgufTensorInfo> _byName;
    private byte* _base;
    private bool _disposed;

    private GgufFile(string path, long length, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* data)
    {
        Path = path;
        Length = length;
        _map = map;
        _view = view;
        _base = data;
        var parsed = GgufParser.Parse(data, length, path);
        Version = parsed.Version;
        Metadata = parsed.Metadata;
        Tensors = parsed.Tensors;
        Alignment = parsed.Alignment;
        DataOffset = parsed.DataOffset;
        _byName = parsed.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The path the file was opened with.</summary>
    public string Path { get; }

    /// <summary>The file's length in bytes.</summary>
    public long Length { get; }

    /// <summary>The GGUF version (2 or 3).</summary>
    public uint Version { get; }

    /// <summary>The metadata key/value pairs in file order.</summary>
    public GgufMetadata Metadata { get; }

    /// <summary>The tensor infos in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>The data alignment (<c>general.alignment</c>, 32 when absent).</summary>
    public int Alignment { get; }

    /// <summary>The file offset of the tensor-data section.</summary>
    public long DataOffset { get; }

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    public static GgufFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        FileKind.RequireRegular(path, "GGUF file", ErrorCodes.ModelNotFound);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.RandomAccess);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptimizerException(ErrorCodes.FileUnreadable, $"The file cannot be read: {ex.Message}", path, inner: ex);
        }
        long length = stream.Length;
        if (length == 0)
        {
            stream.Dispose();
            throw new OptimizerException(ErrorCodes.GgufTruncated, "The file is empty; a GGUF file starts with the 4-byte magic \"GGUF\" (at byte 0).", path);
        }
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        bool acquired = false;
        try
        {
            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            acquired = true;
            var file = new GgufFile(path, length, map, view, pointer + view.PointerOffset);
            return file;
        }
        catch (Exception ex)
        {
            if (acquired) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            if (map is null) stream.Dispose();
            map?.Dispose();
            if (ex is IOException io) throw new OptimizerException(ErrorCodes.FileUnreadable, $"The file cannot be read: {io.Message}", path, inner: io);
            throw;
        }
    }

    /// <summary>The tensor named <paramref name="name"/>, or null.</summary>
    public GgufTensorInfo? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The bytes of <paramref name="tensor"/> as one span over the memory map (tensors up to 2 GiB).</summary>
    public ReadOnlySpan<byte> GetSpan(GgufTensorInfo tensor)
    {
        CheckOwned(tensor);
        if (tensor.ByteCount > int.MaxValue)
            throw new ArgumentException($"Tensor '{tensor.Name}' has {tensor.ByteCount} bytes, more than one span can hold; use ReadBytes.", nameof(tensor));
        return new ReadOnlySpan<byte>(_base + DataOffset + tensor.Offset, (int)tensor.ByteCount);
    }

    /// <summary>
    /// The bytes of <paramref name="tensor"/> in chunks of at most <paramref name="maxChunk"/> bytes. Once the callback
    /// has returned for a chunk, the mapped pages wholly inside it are released from the process's resident set
    /// (<see cref="MappedRegion.Release"/>); the bytes are unchanged and are faulted in again if read later.
    /// </summary>
    public void ReadBytes(GgufTensorInfo tensor, ReadOnlySpanAction<byte, long> onChunk, int maxChunk = 1 << 30)
    {
        ArgumentNullException.ThrowIfNull(onChunk);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxChunk);
        CheckOwned(tensor);
        for (long position = 0; position < tensor.ByteCount; position += maxChunk)
        {
            int length = (int)Math.Min(maxChunk, tensor.ByteCount - position);
            byte* chunk = _base + DataOffset + tensor.Offset + position;
            onChunk(new ReadOnlySpan<byte>(chunk, length), position);
            if (_map is not null) MappedRegion.Release(chunk, length);
        }
    }

    private void CheckOwned(GgufTensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_byName.TryGetValue(tensor.Name, out var own) || own.Offset != tensor.Offset || own.ByteCount != tensor.ByteCount)
            throw new ArgumentException($"Tensor '{tensor.Name}' does not belong to {Path}.", nameof(tensor));
    }

    /// <summary>Unmaps the file; spans handed out before become invalid.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _base = null;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }
}
