using System.Text;
using System.Text.Json;

namespace Optimizer.Engine.Formats;

/// <summary>
/// Writes a safetensors file deterministically: tensors ordered by descending element size, then name (as the
/// reference writer does), data contiguous from offset 0, the JSON header padded with spaces to a multiple of 8.
/// The file is written to a temporary name beside the target and renamed into place, so a failed write never
/// leaves a partial file under the target's name.
/// </summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IEnumerable<SafetensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var ordered = entries
            .OrderByDescending(e => DTypes.SizeOf(e.DType))
            .ThenBy(e => e.Name, StringComparer.Ordinal)
            .ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in ordered)
        {
            if (!names.Add(e.Name)) throw new ArgumentException($"Duplicate tensor name '{e.Name}'.", nameof(entries));
        }

        byte[] header = BuildHeader(ordered, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> len = stackalloc byte[8];
            BitConverter.TryWriteBytes(len, (ulong)header.Length);
            stream.Write(len);
            stream.Write(header);
            foreach (var e in ordered)
            {
                long before = stream.Position;
                e.WriteData(stream);
                long written = stream.Position - before;
                if (written != e.ByteLength)
                    throw new InvalidOperationException($"Tensor '{e.Name}' wrote {written} bytes, expected {e.ByteLength}.");
            }
        });
    }

    private static byte[] BuildHeader(List<SafetensorsEntry> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var kv in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) json.WriteString(kv.Key, kv.Value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var e in ordered)
            {
                json.WriteStartObject(e.Name);
                json.WriteString("dtype", DTypes.SafetensorsName(e.DType));
                json.WriteStartArray("shape");
                foreach (long d in e.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + e.ByteLength);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += e.ByteLength;
            }
            json.WriteEndObject();
        }
        int padded = (int)((buffer.Length + 7) / 8 * 8);
        var header = new byte[padded];
        buffer.ToArray().CopyTo(header, 0);
        for (int i = (int)buffer.Length; i < padded; i++) header[i] = (byte)' ';
        return header;
    }
}
