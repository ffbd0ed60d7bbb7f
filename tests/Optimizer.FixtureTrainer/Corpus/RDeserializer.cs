using System.Buffers.Binary;
using System.Text;

namespace Optimizer.FixtureTrainer.Corpus;

/// <summary>
/// Reads R's serialization format (XDR binary, versions 2 and 3) for the object kinds that appear in data packages:
/// NULL, symbols, references to earlier symbols, pairlists (attributes), character, integer, logical and double vectors
/// and lists. Anything else is refused with <see cref="InvalidDataException"/> naming the type and offset.
/// </summary>
internal sealed class RDeserializer
{
    private const int NilValueSxp = 254, RefSxp = 255, SymSxp = 1, ListSxp = 2, CharSxp = 9, LglSxp = 10,
        IntSxp = 13, RealSxp = 14, StrSxp = 16, VecSxp = 19;
    private const int Latin1Mask = 1 << 2, Utf8Mask = 1 << 3, BytesMask = 1 << 1, AsciiMask = 1 << 6;

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);
    private readonly byte[] _data;
    private readonly string _source;
    private readonly List<RValue> _references = new();
    private int _pos;
    private Encoding _native = StrictUtf8;

    private RDeserializer(byte[] data, string source)
    {
        _data = data;
        _source = source;
    }

    /// <summary>Deserializes one object from <paramref name="data"/> (already decompressed).</summary>
    public static RValue Read(byte[] data, string source)
    {
        var reader = new RDeserializer(data, source);
        reader.ReadHeader();
        return reader.ReadItem();
    }

    private void ReadHeader()
    {
        if (_data.Length < 2 || _data[0] != (byte)'X' || _data[1] != (byte)'\n')
        {
            string found = _data.Length >= 2 ? Encoding.ASCII.GetString(_data, 0, 2).Replace("\n", "\\n") : "(too short)";
            throw Fail($"not an XDR R serialization (header \"{found}\"; only the binary XDR format 'X' is supported)");
        }
        _pos = 2;
        int version = ReadInt();
        ReadInt(); // R version that wrote it
        ReadInt(); // minimal R version that can read it
        if (version == 3)
        {
            int n = ReadInt();
            string native = Encoding.ASCII.GetString(Take(n));
            _native = native.Equals("latin1", StringComparison.OrdinalIgnoreCase) || native.Equals("ISO-8859-1", StringComparison.OrdinalIgnoreCase)
                ? Encoding.Latin1
                : StrictUtf8;
        }
        else if (version != 2)
        {
            throw Fail($"serialization format version {version} is not supported (only 2 and 3)");
        }
    }

    private RValue ReadItem()
    {
        int at = _pos;
        int flags = ReadInt();
        int type = flags & 0xFF;
        int levels = flags >> 12;
        bool hasAttr = (flags & (1 << 9)) != 0;
        bool hasTag = (flags & (1 << 10)) != 0;
        switch (type)
        {
            case NilValueSxp:
                return RNull.Instance;
            case RefSxp:
                {
                    int index = flags >> 8;
                    if (index == 0) index = ReadInt();
                    if (index < 1 || index > _references.Count) throw Fail($"reference {index} at offset {at} points to no earlier object");
                    return _references[index - 1];
                }
            case SymSxp:
                {
                    var name = ReadItem() as RStrings;
                    var symbol = new RSymbol(name?.Values.FirstOrDefault() ?? "");
                    _references.Add(symbol);
                    return symbol;
                }
            case ListSxp:
                return ReadPairList(hasAttr, hasTag);
            case CharSxp:
                return new RStrings(new[] { ReadCharsxp(levels) });
            case LglSxp:
            case IntSxp:
                {
                    int[] values = new int[ReadLength()];
                    for (int i = 0; i < values.Length; i++) values[i] = ReadInt();
                    return WithAttributes(new RInts(values, type == LglSxp), hasAttr);
                }
            case RealSxp:
                {
                    double[] values = new double[ReadLength()];
                    for (int i = 0; i < values.Length; i++) values[i] = BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64BigEndian(Take(8)));
                    return WithAttributes(new RDoubles(values), hasAttr);
                }
            case StrSxp:
                {
                    string?[] values = new string?[ReadLength()];
                    for (int i = 0; i < values.Length; i++)
                    {
                        int elementAt = _pos;
                        int elementFlags = ReadInt();
                        if ((elementFlags & 0xFF) != CharSxp) throw Fail($"character vector element at offset {elementAt} has type {elementFlags & 0xFF}, not CHARSXP");
                        values[i] = ReadCharsxp(elementFlags >> 12);
                    }
                    return WithAttributes(new RStrings(values), hasAttr);
                }
            case VecSxp:
                {
                    var items = new RValue[ReadLength()];
                    for (int i = 0; i < items.Length; i++) items[i] = ReadItem();
                    return WithAttributes(new RList(items), hasAttr);
                }
            default:
                throw Fail($"R object type {type} (SEXPTYPE) at offset {at} is not supported by this reader");
        }
    }

    private RValue ReadPairList(bool hasAttr, bool hasTag)
    {
        var items = new List<KeyValuePair<string?, RValue>>();
        IReadOnlyList<KeyValuePair<string, RValue>> attributes = Array.Empty<KeyValuePair<string, RValue>>();
        bool first = true;
        while (true)
        {
            if (hasAttr)
            {
                var cellAttributes = ToAttributes(ReadItem());
                if (first) attributes = cellAttributes;
            }
            string? tag = hasTag ? (ReadItem() as RSymbol)?.Name : null;
            items.Add(new(tag, ReadItem()));
            first = false;
            int at = _pos;
            int flags = ReadInt();
            int type = flags & 0xFF;
            if (type == NilValueSxp) break;
            if (type != ListSxp)
            {
                _pos = at;
                throw Fail($"pairlist at offset {at} ends in type {type} instead of NULL");
            }
            hasAttr = (flags & (1 << 9)) != 0;
            hasTag = (flags & (1 << 10)) != 0;
        }
        return new RPairList(items) { Attributes = attributes };
    }

    private RValue WithAttributes(RValue value, bool hasAttr)
    {
        if (hasAttr) value.Attributes = ToAttributes(ReadItem());
        return value;
    }

    private IReadOnlyList<KeyValuePair<string, RValue>> ToAttributes(RValue value)
    {
        if (value is RNull) return Array.Empty<KeyValuePair<string, RValue>>();
        if (value is not RPairList list) throw Fail($"attributes are a {value.Describe()}, not a pairlist");
        return list.Items.Select(kv => new KeyValuePair<string, RValue>(kv.Key ?? "", kv.Value)).ToList();
    }

    private string? ReadCharsxp(int levels)
    {
        int length = ReadInt();
        if (length == -1) return null;
        if (length < 0) throw Fail($"string length {length} at offset {_pos - 4} is invalid");
        byte[] bytes = Take(length);
        try
        {
            if ((levels & Latin1Mask) != 0) return Encoding.Latin1.GetString(bytes);
            if ((levels & (Utf8Mask | AsciiMask | BytesMask)) != 0) return StrictUtf8.GetString(bytes);
            return _native.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Fail($"string at offset {_pos - length} is not valid UTF-8");
        }
    }

    private int ReadLength()
    {
        int n = ReadInt();
        if (n >= 0) return n;
        if (n != -1) throw Fail($"vector length {n} at offset {_pos - 4} is invalid");
        long upper = (uint)ReadInt(), lower = (uint)ReadInt();
        long length = (upper << 32) | lower;
        if (length > Array.MaxLength) throw Fail($"long vector of {length} elements is too large");
        return (int)length;
    }

    private int ReadInt() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    private byte[] Take(int n)
    {
        if (n < 0 || _pos + n > _data.Length) throw Fail($"unexpected end of data at offset {_pos} (needed {n} more bytes)");
        byte[] bytes = _data.AsSpan(_pos, n).ToArray();
        _pos += n;
        return bytes;
    }

    private InvalidDataException Fail(string message) => new($"{_source}: {message}.");
}
