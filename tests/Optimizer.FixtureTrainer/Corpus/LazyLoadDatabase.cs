using System.Buffers.Binary;
using System.IO.Compression;

namespace Optimizer.FixtureTrainer.Corpus;

/// <summary>
/// An R lazy-load database (<c>Rdata.rdx</c> index + <c>Rdata.rdb</c> blobs) as installed data packages ship it.
/// The index is a compressed serialized list whose <c>variables</c> element maps object names to (offset, length)
/// into the <c>.rdb</c>; each blob is a 4-byte big-endian uncompressed length followed by a zlib stream (or, for
/// newer compression modes, a type byte and the payload) holding one serialized object.
/// </summary>
internal sealed class LazyLoadDatabase
{
    private readonly string _rdbPath;
    private readonly int _compression;
    private readonly Dictionary<string, (int Offset, int Length)> _variables;

    private LazyLoadDatabase(string rdbPath, int compression, Dictionary<string, (int, int)> variables, IReadOnlyList<string> names)
    {
        _rdbPath = rdbPath;
        _compression = compression;
        _variables = variables;
        Names = names;
    }

    /// <summary>Object names in index order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Opens <paramref name="basePath"/>.rdx / .rdb (basePath without extension).</summary>
    public static LazyLoadDatabase Open(string basePath)
    {
        string rdx = basePath + ".rdx", rdb = basePath + ".rdb";
        if (!File.Exists(rdx)) throw new FileNotFoundException($"{rdx}: the lazy-load index does not exist.");
        if (!File.Exists(rdb)) throw new FileNotFoundException($"{rdb}: the lazy-load database does not exist.");
        byte[] raw = File.ReadAllBytes(rdx);
        byte[] serialized = raw.Length >= 2 && raw[0] == 0x1F && raw[1] == 0x8B ? Gunzip(raw) : Inflate(raw, 0, raw.Length, rdx);
        if (RDeserializer.Read(serialized, rdx) is not RList index) throw new InvalidDataException($"{rdx}: the index is not a list.");
        if (index.Element("variables") is not RList variables || variables.Attribute("names") is not RStrings names)
            throw new InvalidDataException($"{rdx}: the index has no named \"variables\" list.");

        int compression = index.Element("compressed") switch
        {
            null => 1,
            RInts { Values.Length: > 0 } c => c.Values[0],
            RDoubles { Values.Length: > 0 } d => (int)d.Values[0],
            var other => throw new InvalidDataException($"{rdx}: \"compressed\" is a {other.Describe()}."),
        };
        var map = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        var order = new List<string>();
        for (int i = 0; i < variables.Items.Length; i++)
        {
            string name = names.Values[i] ?? throw new InvalidDataException($"{rdx}: variable {i} has no name.");
            if (variables.Items[i] is not RInts { Values.Length: 2 } pair)
                throw new InvalidDataException($"{rdx}: the position of \"{name}\" is a {variables.Items[i].Describe()}, not an (offset, length) pair.");
            map[name] = (pair.Values[0], pair.Values[1]);
            order.Add(name);
        }
        return new LazyLoadDatabase(rdb, compression, map, order);
    }

    /// <summary>Reads and deserializes the object called <paramref name="name"/>.</summary>
    public RValue Read(string name)
    {
        if (!_variables.TryGetValue(name, out var at)) throw new KeyNotFoundException($"{_rdbPath}: no object named \"{name}\".");
        using var file = File.OpenRead(_rdbPath);
        if (at.Offset < 0 || at.Length < 4 || (long)at.Offset + at.Length > file.Length)
            throw new InvalidDataException($"{_rdbPath}: \"{name}\" lies outside the file (offset {at.Offset}, length {at.Length}).");
        byte[] blob = new byte[at.Length];
        file.Position = at.Offset;
        file.ReadExactly(blob);
        string source = $"{_rdbPath}[{name}]";
        return RDeserializer.Read(Decompress(blob, source), source);
    }

    private byte[] Decompress(byte[] blob, string source)
    {
        int expected = BinaryPrimitives.ReadInt32BigEndian(blob);
        byte[] result;
        if (_compression is 2 or 3)
        {
            if (blob.Length < 5) throw new InvalidDataException($"{source}: the entry is truncated.");
            result = (char)blob[4] switch
            {
                'Z' => throw new InvalidDataException($"{source}: xz-compressed entries are not supported (rebuild with zlib compression)."),
                '2' => throw new InvalidDataException($"{source}: bzip2-compressed entries are not supported (rebuild with zlib compression)."),
                '0' => blob.AsSpan(5).ToArray(),
                _ => Inflate(blob, 4, blob.Length - 4, source),
            };
        }
        else
        {
            result = _compression == 0 ? blob.AsSpan(4).ToArray() : Inflate(blob, 4, blob.Length - 4, source);
        }
        if (result.Length != expected)
            throw new InvalidDataException($"{source}: decompressed to {result.Length} bytes, the entry says {expected}.");
        return result;
    }

    private static byte[] Inflate(byte[] data, int offset, int count, string source)
    {
        if (offset == 0)
        {
            // Index form: 4-byte length, then the zlib stream.
            if (count < 4) throw new InvalidDataException($"{source}: too short for a compressed index.");
            offset = 4;
            count -= 4;
        }
        try
        {
            using var input = new ZLibStream(new MemoryStream(data, offset, count), CompressionMode.Decompress);
            using var output = new MemoryStream();
            input.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{source}: the zlib stream is corrupt ({ex.Message})", ex);
        }
    }

    private static byte[] Gunzip(byte[] data)
    {
        using var input = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}
