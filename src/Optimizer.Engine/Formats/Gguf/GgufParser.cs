using System.Buffers.Binary;
using System.Text;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// Parses and validates the header, metadata and tensor infos of a GGUF file held in memory (a memory map). Every
/// problem fails with an OOPT111x <see cref="OptimizerException"/> naming the file and the byte offset.
/// </summary>
internal sealed unsafe class GgufParser
{
    /// <summary>The GGUF magic, "GGUF" read as a little-endian uint32.</summary>
    public const uint Magic = 0x46554747;

    /// <summary>The alignment when <c>general.alignment</c> is absent.</summary>
    public const int DefaultAlignment = 32;

    /// <summary>The metadata key of the alignment.</summary>
    public const string AlignmentKey = "general.alignment";

    /// <summary>Longest tensor name llama.cpp accepts (GGML_MAX_NAME - 1).</summary>
    public const int MaxTensorName = 63;

    /// <summary>Most dimensions of a ggml tensor (GGML_MAX_DIMS).</summary>
    public const int MaxDimensions = 4;

    private const int MaxArrayDepth = 8;
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    private readonly byte* _base;
    private readonly long _length;
    private readonly string _path;
    private long _position;

    private GgufParser(byte* data, long length, string path)
    {
        _base = data;
        _length = length;
        _path = path;
    }

    /// <summary>What <see cref="Parse"/> found.</summary>
    public sealed record Parsed(uint Version, GgufMetadata Metadata, IReadOnlyList<GgufTensorInfo> Tensors, int Alignment, long DataOffset);

    /// <summary>Parses the <paramref name="length"/> bytes at <paramref name="data"/> (the whole file).</summary>
    public static Parsed Parse(byte* data, long length, string path) => new GgufParser(data, length, path).Run();

    private Parsed Run()
    {
        if (_length < 4)
            throw Fail(ErrorCodes.GgufTruncated, $"The file has {_length} bytes; a GGUF file starts with the 4-byte magic \"GGUF\"");
        uint magic = ReadUInt32("magic");
        if (magic != Magic)
            throw Fail(ErrorCodes.GgufMagicInvalid, $"Not a GGUF file: it starts with bytes {Hex(0, 4)}, not \"GGUF\" (47 47 55 46)", 0);
        uint version = ReadUInt32("version");
        if (version is not (2 or 3))
        {
            string hint = BinaryPrimitives.ReverseEndianness(version) is 2 or 3 ? " (a big-endian file, which is not supported)" : version == 1 ? " (version 1 is obsolete)" : "";
            throw Fail(ErrorCodes.GgufVersionUnsupported, $"GGUF version {version}{hint} is not supported; only versions 2 and 3", 4);
        }
        long tensorCount = ReadCount("tensor count", 8 + 4 + 8 + 8);
        long kvCount = ReadCount("metadata count", 8 + 4 + 1);
        var entries = new List<KeyValuePair<string, GgufValue>>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < kvCount; i++)
        {
            long at = _position;
            string key = ReadString($"metadata key {i}");
            if (key.Length == 0) throw Fail(ErrorCodes.GgufMetadataInvalid, $"Metadata key {i} is empty", at);
            if (!keys.Add(key)) throw Fail(ErrorCodes.GgufMetadataInvalid, $"Metadata key '{key}' appears twice", at);
            long typeAt = _position;
            uint type = ReadUInt32($"the type of '{key}'");
            if (!GgufValueTypes.IsDefined(type)) throw Fail(ErrorCodes.GgufMetadataInvalid, $"Metadata '{key}' has unknown value type {type}", typeAt);
            entries.Add(new(key, ReadValue((GgufValueType)type, key, 0)));
        }
        var metadata = new GgufMetadata(entries, _path);
        int alignment = ReadAlignment(metadata);
        var tensors = new List<GgufTensorInfo>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < tensorCount; i++) tensors.Add(ReadTensorInfo(i, names, alignment));
        long dataOffset = (_position + alignment - 1) / alignment * alignment;
        CheckData(tensors, dataOffset);
        return new Parsed(version, metadata, tensors, alignment, dataOffset);
    }

    private int ReadAlignment(GgufMetadata metadata)
    {
        if (metadata.Find(AlignmentKey) is not { } value) return DefaultAlignment;
        if (value.Value is not uint a || a == 0 || (a & (a - 1)) != 0)
            throw Fail(ErrorCodes.GgufMetadataInvalid, $"'{AlignmentKey}' must be a u32 power of two, not {value.Type} {value}", -1);
        if (a > 1 << 20) throw Fail(ErrorCodes.GgufMetadataInvalid, $"'{AlignmentKey}' {a} is larger than 1 MiB", -1);
        return (int)a;
    }

    private GgufTensorInfo ReadTensorInfo(long index, HashSet<string> names, int alignment)
    {
        long at = _position;
        string name = ReadString($"the name of tensor {index}");
        int nameBytes = Encoding.UTF8.GetByteCount(name);
        if (nameBytes == 0 || nameBytes > MaxTensorName)
            throw Fail(ErrorCodes.GgufTensorInfoInvalid, $"Tensor {index} has a name of {nameBytes} bytes; names have 1 to {MaxTensorName} bytes", at);
        if (!names.Add(name)) throw Fail(ErrorCodes.GgufTensorInfoInvalid, $"Tensor '{name}' appears twice", at);
        long dimsAt = _position;
        uint dimCount = ReadUInt32($"the dimension count of '{name}'");
        if (dimCount is 0 or > MaxDimensions)
            throw Fail(ErrorCodes.GgufTensorInfoInvalid, $"Tensor '{name}' has {dimCount} dimensions; 1 to {MaxDimensions} are allowed", dimsAt);
        var dims = new long[dimCount];
        for (int d = 0; d < dims.Length; d++)
        {
            long dimAt = _position;
            ulong dim = ReadUInt64($"dimension {d} of '{name}'");
            if (dim > long.MaxValue) throw Fail(ErrorCodes.GgufTensorInfoInvalid, $"Tensor '{name}' dimension {d} is {dim}, too large", dimAt);
            dims[d] = (long)dim;
        }
        long typeAt = _position;
        var type = (GgmlType)ReadUInt32($"the type of '{name}'");
        if (!GgufTensorTypes.IsKnown(type)) throw Fail(ErrorCodes.GgufTensorInfoInvalid, $"Tensor '{name}' has unknown ggml type {(uint)type}", typeAt);
        long? bytes = GgufTensorTypes.ByteCount(type, dims);
        if (bytes is null)
            throw Fail(ErrorCodes.GgufTensorInfoInvalid,
                $"Tensor '{name}' [{string.Join(", ", dims)}] of type {GgufTensorTypes.Name(type)} is not a whole number of blocks of {GgufTensorTypes.BlockSize(type)} along dimension 0, or too large", dimsAt);
        long offsetAt = _position;
        ulong offset = ReadUInt64($"the data offset of '{name}'");
        if (offset > long.MaxValue || offset % (ulong)alignment != 0)
            throw Fail(ErrorCodes.GgufOffsetsInvalid, $"Tensor '{name}' has data offset {offset}, which is not a multiple of the alignment {alignment}", offsetAt);
        return new GgufTensorInfo(name, dims, type, (long)offset, bytes.Value);
    }

    private void CheckData(List<GgufTensorInfo> tensors, long dataOffset)
    {
        long available = _length - dataOffset;
        GgufTensorInfo? previous = null;
        foreach (var tensor in tensors.OrderBy(t => t.Offset).ThenBy(t => t.ByteCount))
        {
            if (tensor.Offset > available || tensor.ByteCount > available - tensor.Offset)
                throw Fail(ErrorCodes.GgufTruncated,
                    $"Tensor '{tensor.Name}' ({tensor.ByteCount} bytes at data offset {tensor.Offset}) ends beyond the file, which has {Math.Max(0, available)} bytes of tensor data", Math.Min(_length, dataOffset + tensor.Offset));
            if (previous is not null && previous.Offset + previous.ByteCount > tensor.Offset)
                throw Fail(ErrorCodes.GgufOffsetsInvalid,
                    $"Tensor '{tensor.Name}' (data offset {tensor.Offset}) overlaps tensor '{previous.Name}' (data offset {previous.Offset}, {previous.ByteCount} bytes)", dataOffset + tensor.Offset);
            previous = tensor;
        }
    }

    private GgufValue ReadValue(GgufValueType type, string key, int depth)
    {
        long at = _position;
        string what = $"the value of '{key}'";
        switch (type)
        {
            case GgufValueType.UInt8: return GgufValue.UInt8(Take(1, what)[0]);
            case GgufValueType.Int8: return GgufValue.Int8((sbyte)Take(1, what)[0]);
            case GgufValueType.UInt16: return GgufValue.UInt16(BinaryPrimitives.ReadUInt16LittleEndian(Take(2, what)));
            case GgufValueType.Int16: return GgufValue.Int16(BinaryPrimitives.ReadInt16LittleEndian(Take(2, what)));
            case GgufValueType.UInt32: return GgufValue.UInt32(ReadUInt32(what));
            case GgufValueType.Int32: return GgufValue.Int32(BinaryPrimitives.ReadInt32LittleEndian(Take(4, what)));
            case GgufValueType.Float32: return GgufValue.Float32(BinaryPrimitives.ReadSingleLittleEndian(Take(4, what)));
            case GgufValueType.UInt64: return GgufValue.UInt64(ReadUInt64(what));
            case GgufValueType.Int64: return GgufValue.Int64(BinaryPrimitives.ReadInt64LittleEndian(Take(8, what)));
            case GgufValueType.Float64: return GgufValue.Float64(BinaryPrimitives.ReadDoubleLittleEndian(Take(8, what)));
            case GgufValueType.Bool:
                byte b = Take(1, what)[0];
                if (b > 1) throw Fail(ErrorCodes.GgufMetadataInvalid, $"Metadata '{key}' is a bool stored as {b}; only 0 and 1 are allowed", at);
                return GgufValue.Bool(b == 1);
            case GgufValueType.String: return GgufValue.String(ReadString(what));
            default: return GgufValue.FromArray(ReadArray(key, depth));
        }
    }

    private GgufArray ReadArray(string key, int depth)
    {
        long at = _position;
        if (depth >= MaxArrayDepth) throw Fail(ErrorCodes.GgufMetadataInvalid, $"Metadata '{key}' nests arrays deeper than {MaxArrayDepth} levels", at);
        uint elementId = ReadUInt32($"the element type of '{key}'");
        if (!GgufValueTypes.IsDefined(elementId)) throw Fail(ErrorCodes.GgufMetadataInvalid, $"Metadata '{key}' is an array of unknown value type {elementId}", at);
        var elementType = (GgufValueType)elementId;
        long countAt = _position;
        ulong count = ReadUInt64($"the element count of '{key}'");
        ulong remaining = (ulong)(_length - _position);
        if (count > remaining / (ulong)GgufValueTypes.MinimumSize(elementType))
            throw Fail(ErrorCodes.GgufTruncated, $"Metadata '{key}' declares {count} {elementType} elements, more than the {remaining} remaining bytes can hold", countAt);
        if (count > (ulong)Array.MaxLength)
            throw Fail(ErrorCodes.GgufMetadataInvalid, $"Metadata '{key}' declares {count} elements, more than one array can hold", countAt);
        int n = (int)count;
        var items = Array.CreateInstance(GgufValueTypes.ClrType(elementType), n);
        string elementKey = key + "[]";
        for (int i = 0; i < n; i++) items.SetValue(ReadValue(elementType, elementKey, depth + 1).Value, i);
        return new GgufArray(elementType, items);
    }

    private string ReadString(string what)
    {
        long at = _position;
        ulong length = ReadUInt64($"the length of {what}");
        if (length > (ulong)(_length - _position))
            throw Fail(ErrorCodes.GgufTruncated, $"The string {what} declares {length} bytes, but only {_length - _position} remain", at);
        if (length > int.MaxValue) throw Fail(ErrorCodes.GgufMetadataInvalid, $"The string {what} declares {length} bytes, too long", at);
        var bytes = Take((int)length, what);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Fail(ErrorCodes.GgufMetadataInvalid, $"The string {what} is not valid UTF-8", at);
        }
    }

    private long ReadCount(string what, int minimumEntryBytes)
    {
        long at = _position;
        ulong count = ReadUInt64(what);
        if (count > (ulong)(_length - _position) / (ulong)minimumEntryBytes)
            throw Fail(ErrorCodes.GgufTruncated, $"The {what} is {count}, more than the {_length - _position} remaining bytes can hold", at);
        return (long)count;
    }

    private uint ReadUInt32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, what));

    private ulong ReadUInt64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, what));

    private ReadOnlySpan<byte> Take(int count, string what)
    {
        if (count > _length - _position)
            throw Fail(ErrorCodes.GgufTruncated, $"The file ends while reading {what}: {count} bytes needed, {_length - _position} left", _position);
        var span = new ReadOnlySpan<byte>(_base + _position, count);
        _position += count;
        return span;
    }

    private string Hex(long offset, int count) =>
        string.Join(" ", Enumerable.Range(0, (int)Math.Min(count, _length - offset)).Select(i => _base[offset + i].ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));

    private OptimizerException Fail(string code, string message, long offset = -2) =>
        new(code, offset >= 0 ? $"{message} (at byte {offset})." : offset == -1 ? message + "." : $"{message} (at byte {_position}).", _path);
}
