using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace Optimizer.Engine.Formats;

/// <summary>
/// A safetensors file, validated completely before anything is exposed (see <see cref="SafetensorsHeader"/>), then
/// memory-mapped read-only: tensor bytes are spans over the mapped pages, never copied into managed arrays.
/// Spans stay valid until the file is disposed.
/// </summary>
public sealed unsafe class SafetensorsFile : ITensorSource
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly Dictionary<string, TensorInfo> _byName;
    private byte* _base;

    private SafetensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, SafetensorsHeader.Parsed parsed, long dataOffset)
    {
        Path = path;
        _map = map;
        _view = view;
        Tensors = parsed.Tensors;
        Metadata = parsed.Metadata;
        DataOffset = dataOffset;
        _byName = parsed.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + view.PointerOffset;
    }

    /// <summary>The path the file was opened with.</summary>
    public string Path { get; }

    /// <summary>The <c>__metadata__</c> string map of the header (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>File offset of the first data byte (8 + header length).</summary>
    public long DataOffset { get; }

    /// <inheritdoc/>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>Opens and validates <paramref name="path"/>; <see cref="TensorInfo.File"/> is the file name.</summary>
    public static SafetensorsFile Open(string path) => Open(path, System.IO.Path.GetFileName(path));

    /// <summary>Opens and validates <paramref name="path"/>, recording <paramref name="relativeName"/> in each tensor.</summary>
    internal static SafetensorsFile Open(string path, string relativeName)
    {
        FileKind.RequireRegular(path, "safetensors file", ErrorCodes.ModelNotFound);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.RandomAccess);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptimizerException(ErrorCodes.FileUnreadable, $"The file cannot be read: {ex.Message}", path, inner: ex);
        }
        bool handedOver = false;
        try
        {
            var (parsed, dataOffset) = ReadHeader(stream, path, relativeName);
            var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            handedOver = true;
            try
            {
                var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                return new SafetensorsFile(path, map, view, parsed, dataOffset);
            }
            catch
            {
                map.Dispose();
                throw;
            }
        }
        catch (IOException ex)
        {
            throw new OptimizerException(ErrorCodes.FileUnreadable, $"The file cannot be read: {ex.Message}", path, inner: ex);
        }
        finally
        {
            if (!handedOver) stream.Dispose();
        }
    }

    private static (SafetensorsHeader.Parsed Parsed, long DataOffset) ReadHeader(FileStream stream, string path, string relativeName)
    {
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw new OptimizerException(ErrorCodes.SafetensorsTruncated,
                $"The file is truncated: it has {fileLength} bytes, but a safetensors file starts with an 8-byte header length.", path);
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > SafetensorsHeader.MaxHeaderLength)
            throw new OptimizerException(ErrorCodes.SafetensorsHeaderInvalid,
                $"The header length {headerLength} (file bytes 0-7) exceeds the limit of {SafetensorsHeader.MaxHeaderLength} bytes.", path);
        if ((long)headerLength > fileLength - 8)
            throw new OptimizerException(ErrorCodes.SafetensorsTruncated,
                $"The header length {headerLength} (file bytes 0-7) is beyond the file: only {fileLength - 8} bytes follow it.", path);
        var header = new byte[(int)headerLength];
        stream.ReadExactly(header);
        long dataOffset = 8 + (long)headerLength;
        var parsed = SafetensorsHeader.Parse(header, dataOffset, fileLength - dataOffset, path, relativeName);
        return (parsed, dataOffset);
    }

    /// <inheritdoc/>
    public TensorInfo? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>
    /// The bytes of <paramref name="tensor"/> as one span over the memory map (tensors up to 2 GiB; use
    /// <see cref="ReadBytes"/> for larger ones).
    /// </summary>
    public ReadOnlySpan<byte> GetSpan(TensorInfo tensor)
    {
        CheckOwned(tensor);
        if (tensor.Length > int.MaxValue)
            throw new ArgumentException($"Tensor '{tensor.Name}' has {tensor.Length} bytes, more than one span can hold; use ReadBytes.", nameof(tensor));
        return new ReadOnlySpan<byte>(_base + tensor.Offset, (int)tensor.Length);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The callback is not called for an empty tensor. Once the callback has returned for a chunk, the mapped pages
    /// wholly inside that chunk are released from the process's resident set (<see cref="MappedRegion.Release"/>), so
    /// streaming a model through <see cref="ReadBytes"/> does not leave the whole file resident; the bytes are unchanged
    /// and are faulted in again if read later.
    /// </remarks>
    public void ReadBytes(TensorInfo tensor, ReadOnlySpanAction<byte, long> onChunk, int maxChunk = 1 << 30)
    {
        ArgumentNullException.ThrowIfNull(onChunk);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxChunk);
        CheckOwned(tensor);
        for (long position = 0; position < tensor.Length; position += maxChunk)
        {
            int length = (int)Math.Min(maxChunk, tensor.Length - position);
            byte* chunk = _base + tensor.Offset + position;
            onChunk(new ReadOnlySpan<byte>(chunk, length), position);
            MappedRegion.Release(chunk, length);
        }
    }

    private void CheckOwned(TensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ObjectDisposedException.ThrowIf(_base == null, this);
        if (!_byName.TryGetValue(tensor.Name, out var own) || own.Offset != tensor.Offset || own.Length != tensor.Length)
            throw new ArgumentException($"Tensor '{tensor.Name}' does not belong to {Path}.", nameof(tensor));
    }

    /// <summary>Unmaps the file; spans handed out before become invalid.</summary>
    public void Dispose()
    {
        if (_base == null) return;
        _base = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}
