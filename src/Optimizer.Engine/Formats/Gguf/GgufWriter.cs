using System.Text;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// Builds a GGUF version 3 file: metadata key/value pairs (every GGUF value type, nested arrays included) in the order
/// they were added, then tensor infos (dimensions in ggml order) and the tensor data, each tensor aligned to
/// <c>general.alignment</c> (32 when not set). <see cref="Write"/> asks each tensor's producer for its bytes in turn,
/// so only one tensor needs to exist in memory, and writes through <see cref="AtomicFile"/> (temporary file + rename):
/// a failed or cancelled write leaves no file. The same input gives the same bytes.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<KeyValuePair<string, GgufValue>> _metadata = new();
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private readonly List<(GgufTensorInfo Info, GgufTensorProducer Producer)> _tensors = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>The metadata added so far, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata => _metadata;

    /// <summary>The tensors added so far, in order, with their data offsets.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors => _tensors.Select(t => t.Info).ToList();

    /// <summary>The alignment of tensor data: <c>general.alignment</c> when added (a u32 power of two), else 32.</summary>
    public int Alignment { get; private set; } = GgufParser.DefaultAlignment;

    /// <summary>Adds a metadata pair; keys must be unique, non-empty UTF-8.</summary>
    public GgufWriter Add(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        if (key == GgufParser.AlignmentKey)
        {
            if (_tensors.Count > 0) throw new InvalidOperationException($"Set '{GgufParser.AlignmentKey}' before adding tensors.");
            if (value.Value is not uint a || a == 0 || (a & (a - 1)) != 0 || a > 1 << 20)
                throw new ArgumentException($"'{GgufParser.AlignmentKey}' must be a u32 power of two up to 1 MiB, not {value.Type} {value}.", nameof(value));
            Alignment = (int)a;
        }
        if (!_keys.Add(key)) throw new ArgumentException($"Metadata key '{key}' was already added.", nameof(key));
        _metadata.Add(new(key, value));
        return this;
    }

    /// <summary>Adds a string pair.</summary>
    public GgufWriter Add(string key, string value) => Add(key, GgufValue.String(value));

    /// <summary>Adds a u32 pair.</summary>
    public GgufWriter Add(string key, uint value) => Add(key, GgufValue.UInt32(value));

    /// <summary>Adds an f32 pair.</summary>
    public GgufWriter Add(string key, float value) => Add(key, GgufValue.Float32(value));

    /// <summary>Adds a bool pair.</summary>
    public GgufWriter Add(string key, bool value) => Add(key, GgufValue.Bool(value));

    /// <summary>
    /// Adds a tensor of <paramref name="shape"/> (PyTorch order, outermost first; stored reversed, in ggml order) and
    /// <paramref name="type"/>, whose bytes <paramref name="producer"/> writes when <see cref="Write"/> reaches it.
    /// </summary>
    public GgufTensorInfo AddTensor(string name, ReadOnlySpan<long> shape, GgmlType type, GgufTensorProducer producer)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(producer);
        int nameBytes = Encoding.UTF8.GetByteCount(name);
        if (nameBytes is 0 or > GgufParser.MaxTensorName)
            throw new ArgumentException($"Tensor name '{name}' has {nameBytes} bytes; GGUF allows 1 to {GgufParser.MaxTensorName}.", nameof(name));
        if (shape.Length is 0 or > GgufParser.MaxDimensions)
            throw new ArgumentException($"Tensor '{name}' has {shape.Length} dimensions; GGUF allows 1 to {GgufParser.MaxDimensions}.", nameof(shape));
        if (!GgufTensorTypes.IsKnown(type)) throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown ggml type.");
        var dims = new long[shape.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0) throw new ArgumentException($"Tensor '{name}' has a negative dimension.", nameof(shape));
            dims[shape.Length - 1 - i] = shape[i];
        }
        long bytes = GgufTensorTypes.ByteCount(type, dims)
            ?? throw new OptimizerException(ErrorCodes.GgufExportInvalid,
                $"Tensor '{name}' [{string.Join(", ", shape.ToArray())}] cannot be stored as {GgufTensorTypes.Name(type)}: its rows of {dims[0]} values are not whole blocks of {GgufTensorTypes.BlockSize(type)}.");
        if (!_names.Add(name)) throw new ArgumentException($"Tensor '{name}' was already added.", nameof(name));
        long offset = 0;
        if (_tensors.Count > 0)
        {
            var last = _tensors[^1].Info;
            offset = Align(last.Offset + last.ByteCount, Alignment);
        }
        var info = new GgufTensorInfo(name, dims, type, offset, bytes);
        _tensors.Add((info, producer));
        return info;
    }

    /// <summary>
    /// Writes the file to <paramref name="path"/> atomically. <paramref name="onTensorWritten"/> is called after each
    /// tensor (index, info); <paramref name="ct"/> is checked before each tensor (a cancelled write leaves no file).
    /// A producer that writes the wrong number of bytes fails with <see cref="ErrorCodes.GgufExportInvalid"/>.
    /// </summary>
    public GgufWriteResult Write(string path, Action<int, GgufTensorInfo>? onTensorWritten = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = System.IO.Path.GetFullPath(path);
        GgufWriteResult? result = null;
        AtomicFile.Write(full, file =>
        {
            using var hashing = new HashingStream(file);
            using (var writer = new BinaryWriter(hashing, Encoding.UTF8, leaveOpen: true))
            {
                WriteHeader(writer);
            }
            Pad(hashing);
            for (int i = 0; i < _tensors.Count; i++)
            {
                ct.ThrowIfCancellationRequested();
                var (info, producer) = _tensors[i];
                var bounded = new BoundedWriteStream(hashing, info.ByteCount, info.Name);
                producer(bounded);
                if (bounded.Written != info.ByteCount)
                    throw new OptimizerException(ErrorCodes.GgufExportInvalid,
                        $"Tensor '{info.Name}' produced {bounded.Written} bytes; its shape and type need {info.ByteCount}.", full);
                Pad(hashing);
                onTensorWritten?.Invoke(i, info);
            }
            ct.ThrowIfCancellationRequested();
            result = new GgufWriteResult(full, hashing.Written, hashing.FinishHash());
        });
        return result!;
    }

    private void WriteHeader(BinaryWriter writer)
    {
        writer.Write(GgufParser.Magic);
        writer.Write(3u);
        writer.Write((ulong)_tensors.Count);
        writer.Write((ulong)_metadata.Count);
        foreach (var (key, value) in _metadata)
        {
            WriteString(writer, key);
            writer.Write((uint)value.Type);
            WriteValue(writer, value.Type, value.Value);
        }
        foreach (var (info, _) in _tensors)
        {
            WriteString(writer, info.Name);
            writer.Write((uint)info.Dimensions.Length);
            foreach (long d in info.Dimensions) writer.Write((ulong)d);
            writer.Write((uint)info.Type);
            writer.Write((ulong)info.Offset);
        }
    }

    private static void WriteValue(BinaryWriter writer, GgufValueType type, object value)
    {
        switch (type)
        {
            case GgufValueType.UInt8: writer.Write((byte)value); break;
            case GgufValueType.Int8: writer.Write((sbyte)value); break;
            case GgufValueType.UInt16: writer.Write((ushort)value); break;
            case GgufValueType.Int16: writer.Write((short)value); break;
            case GgufValueType.UInt32: writer.Write((uint)value); break;
            case GgufValueType.Int32: writer.Write((int)value); break;
            case GgufValueType.Float32: writer.Write((float)value); break;
            case GgufValueType.Bool: writer.Write((byte)((bool)value ? 1 : 0)); break;
            case GgufValueType.String: WriteString(writer, (string)value); break;
            case GgufValueType.UInt64: writer.Write((ulong)value); break;
            case GgufValueType.Int64: writer.Write((long)value); break;
            case GgufValueType.Float64: writer.Write((double)value); break;
            default:
                var array = (GgufArray)value;
                writer.Write((uint)array.ElementType);
                writer.Write((ulong)array.Count);
                foreach (object item in array.Items) WriteValue(writer, array.ElementType, item);
                break;
        }
    }

    private static void WriteString(BinaryWriter writer, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }

    private void Pad(HashingStream stream)
    {
        long padding = Align(stream.Written, Alignment) - stream.Written;
        if (padding > 0) stream.Write(new byte[padding]);
    }

    private static long Align(long value, int alignment) => (value + alignment - 1) / alignment * alignment;
}
