using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Optimizer.Engine.Formats;

/// <summary>
/// Parses and validates the JSON header of a safetensors file the way the reference validator does: UTF-8, a JSON
/// object, every entry with a known dtype, a shape and data offsets; all arithmetic checked; tensors contiguous from
/// offset 0 without gaps or overlaps, each spanning exactly element count × element size bytes, and the last one
/// ending at the end of the file. Every error names the file and the tensor or the byte offset.
/// </summary>
internal static class SafetensorsHeader
{
    /// <summary>The largest header the reference implementation accepts (100 MB).</summary>
    public const long MaxHeaderLength = 100_000_000;

    /// <summary>The reserved key of the string-to-string metadata map.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>The validated content of a header.</summary>
    internal sealed record Parsed(List<TensorInfo> Tensors, Dictionary<string, string> Metadata);

    private sealed record Entry(string Name, DType DType, long[] Shape, long Begin, long End);

    /// <summary>
    /// Validates <paramref name="header"/> against a data section of <paramref name="dataLength"/> bytes that starts
    /// at file offset <paramref name="dataStart"/>. <paramref name="path"/> is the file named in errors and
    /// <paramref name="relativeName"/> the name stored in each <see cref="TensorInfo.File"/>.
    /// </summary>
    public static Parsed Parse(ReadOnlyMemory<byte> header, long dataStart, long dataLength, string path, string relativeName)
    {
        CheckUtf8(header.Span, path);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            long at = 8 + ByteOffsetOf(header.Span, ex.LineNumber ?? 0, ex.BytePositionInLine ?? 0);
            throw Fail(ErrorCodes.SafetensorsHeaderInvalid, $"The header is not valid JSON (near file byte offset {at}): {JsonFile.Describe(ex)}", path);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Fail(ErrorCodes.SafetensorsHeaderInvalid, $"The header must be a JSON object, not {Kind(root)}.", path);
            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!names.Add(property.Name))
                    throw Fail(ErrorCodes.DuplicateTensor, $"The header names '{property.Name}' more than once.", path);
                if (property.Name == MetadataKey) ReadMetadata(property.Value, metadata, path);
                else entries.Add(ReadEntry(property.Name, property.Value, path));
            }
            return new Parsed(CheckLayout(entries, dataStart, dataLength, path, relativeName), metadata);
        }
    }

    private static void CheckUtf8(ReadOnlySpan<byte> header, string path)
    {
        int position = 0;
        while (position < header.Length)
        {
            if (Rune.DecodeFromUtf8(header[position..], out _, out int consumed) != OperationStatus.Done)
                throw Fail(ErrorCodes.SafetensorsHeaderInvalid, $"The header is not valid UTF-8 at file byte offset {8 + position}.", path);
            position += consumed;
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string path)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
            throw Fail(ErrorCodes.SafetensorsHeaderInvalid, $"\"{MetadataKey}\" must be an object of strings, not {Kind(value)}.", path);
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw Fail(ErrorCodes.SafetensorsHeaderInvalid, $"\"{MetadataKey}\" value \"{item.Name}\" must be a string, not {Kind(item.Value)}.", path);
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw Fail(ErrorCodes.SafetensorsHeaderInvalid, $"\"{MetadataKey}\" names \"{item.Name}\" more than once.", path);
        }
    }

    private static Entry ReadEntry(string name, JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Fail(ErrorCodes.SafetensorsHeaderInvalid, $"Tensor '{name}': the entry must be an object, not {Kind(value)}.", path);
        if (!value.TryGetProperty("dtype", out var dtypeValue) || dtypeValue.ValueKind != JsonValueKind.String)
            throw Fail(ErrorCodes.SafetensorsHeaderInvalid, $"Tensor '{name}' has no string \"dtype\".", path);
        string dtypeName = dtypeValue.GetString()!;
        if (!DTypes.TryParseSafetensors(dtypeName, out DType dtype))
            throw Fail(ErrorCodes.UnsupportedDType,
                $"Tensor '{name}' has dtype \"{dtypeName}\", which is unknown or not supported (supported: {string.Join(", ", Enum.GetValues<DType>().Select(DTypes.SafetensorsName))}).", path);
        long[] shape = ReadIntegers(name, value, "shape", path);
        long[] offsets = ReadIntegers(name, value, "data_offsets", path);
        if (offsets.Length != 2)
            throw Fail(ErrorCodes.SafetensorsHeaderInvalid, $"Tensor '{name}': \"data_offsets\" must hold two numbers [begin, end], not {offsets.Length}.", path);
        return new Entry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadIntegers(string name, JsonElement entry, string key, string path)
    {
        if (!entry.TryGetProperty(key, out var array) || array.ValueKind != JsonValueKind.Array)
            throw Fail(ErrorCodes.SafetensorsHeaderInvalid, $"Tensor '{name}' has no \"{key}\" array.", path);
        var values = new long[array.GetArrayLength()];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long v) || v < 0)
                throw Fail(ErrorCodes.SafetensorsHeaderInvalid,
                    $"Tensor '{name}': \"{key}\" must hold non-negative integers below 2^63; found {item.GetRawText()}.", path);
            values[i++] = v;
        }
        return values;
    }

    private static List<TensorInfo> CheckLayout(List<Entry> entries, long dataStart, long dataLength, string path, string relativeName)
    {
        foreach (var e in entries)
        {
            if (e.End < e.Begin)
                throw Fail(ErrorCodes.SafetensorsOffsetsInvalid, $"Tensor '{e.Name}' ends (data offset {e.End}) before it begins (data offset {e.Begin}).", path);
            long needed;
            try
            {
                needed = DTypes.SizeOf(e.DType);
                foreach (long d in e.Shape) needed = checked(needed * d);
            }
            catch (OverflowException)
            {
                throw Fail(ErrorCodes.SafetensorsOffsetsInvalid, $"Tensor '{e.Name}': the byte size of shape [{string.Join(", ", e.Shape)}] overflows.", path);
            }
            if (e.End - e.Begin != needed)
                throw Fail(ErrorCodes.SafetensorsOffsetsInvalid,
                    $"Tensor '{e.Name}' spans {e.End - e.Begin} bytes (data offsets [{e.Begin}, {e.End}]) but {DTypes.SafetensorsName(e.DType)} shape [{string.Join(", ", e.Shape)}] needs {needed}.", path);
        }
        var ordered = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ThenBy(e => e.Name, StringComparer.Ordinal).ToList();
        long expected = 0;
        string? previous = null;
        foreach (var e in ordered)
        {
            if (e.Begin > expected)
                throw Fail(ErrorCodes.SafetensorsOffsetsInvalid,
                    $"Gap of {e.Begin - expected} bytes before tensor '{e.Name}' at file byte offset {dataStart + expected}: tensors must be contiguous.", path);
            if (e.Begin < expected)
                throw Fail(ErrorCodes.SafetensorsOffsetsInvalid,
                    $"Tensor '{e.Name}' (data offsets [{e.Begin}, {e.End}]) overlaps tensor '{previous}', which ends at data offset {expected}.", path);
            expected = e.End;
            previous = e.Name;
        }
        if (expected > dataLength)
            throw Fail(ErrorCodes.SafetensorsTruncated,
                $"The file is truncated: tensor '{previous}' ends at file byte offset {SafeAdd(dataStart, expected)} but the file has only {dataStart + dataLength} bytes.", path);
        if (expected < dataLength)
            throw Fail(ErrorCodes.SafetensorsOffsetsInvalid,
                $"{dataLength - expected} bytes from file byte offset {dataStart + expected} to the end are not described by the header.", path);
        return ordered
            .Select(e => new TensorInfo(e.Name, e.DType, e.Shape, relativeName, dataStart + e.Begin, e.End - e.Begin))
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
    }

    private static string SafeAdd(long a, long b) => b > long.MaxValue - a ? $"{(decimal)a + b}" : $"{a + b}";

    private static long ByteOffsetOf(ReadOnlySpan<byte> text, long line, long bytePositionInLine)
    {
        long offset = 0;
        for (long l = 0; l < line && offset < text.Length; l++)
        {
            int next = text[(int)offset..].IndexOf((byte)'\n');
            if (next < 0) break;
            offset += next + 1;
        }
        return Math.Min(offset + bytePositionInLine, text.Length);
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static OptimizerException Fail(string code, string message, string path) => new(code, message, path);
}
