using System.Buffers.Binary;
using System.Text;

namespace Optimizer.FixtureTrainer.Tests;

/// <summary>Writes R's XDR serialization by hand, item by item, so tests can build exactly the bytes R would.</summary>
internal sealed class XdrWriter
{
    public const int Nil = 254, Ref = 255, Sym = 1, List = 2, Chr = 9, Lgl = 10, Int = 13, Real = 14, Str = 16, Vec = 19;
    public const int HasAttr = 1 << 9, HasTag = 1 << 10;
    public const int Utf8Level = 1 << 3, Latin1Level = 1 << 2, AsciiLevel = 1 << 6;
    private readonly MemoryStream _buffer = new();

    public static XdrWriter WithHeader(int version = 3, string native = "UTF-8")
    {
        var w = new XdrWriter();
        w._buffer.Write("X\n"u8);
        w.Int32(version).Int32(0x040201).Int32(0x030500);
        if (version == 3) w.Int32(native.Length).Bytes(Encoding.ASCII.GetBytes(native));
        return w;
    }

    public XdrWriter Int32(int value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, value);
        _buffer.Write(b);
        return this;
    }

    public XdrWriter Bytes(byte[] bytes)
    {
        _buffer.Write(bytes);
        return this;
    }

    public XdrWriter Flags(int type, int extra = 0, int levels = 0) => Int32(type | extra | (levels << 12));

    public XdrWriter CharSxp(string? value, int levels = AsciiLevel, Encoding? encoding = null)
    {
        Flags(Chr, 0, value is null ? 0 : levels);
        if (value is null) return Int32(-1);
        byte[] bytes = (encoding ?? Encoding.UTF8).GetBytes(value);
        return Int32(bytes.Length).Bytes(bytes);
    }

    public XdrWriter Strings(params string?[] values)
    {
        Flags(Str).Int32(values.Length);
        foreach (var v in values) CharSxp(v);
        return this;
    }

    public XdrWriter Symbol(string name) => Flags(Sym).CharSxp(name);

    public byte[] ToArray() => _buffer.ToArray();
}
