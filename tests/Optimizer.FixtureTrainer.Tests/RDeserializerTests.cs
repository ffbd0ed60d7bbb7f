using System.Text;
using Optimizer.FixtureTrainer.Corpus;
using static Optimizer.FixtureTrainer.Tests.XdrWriter;

namespace Optimizer.FixtureTrainer.Tests;

public class RDeserializerTests
{
    [Fact]
    public void ReadsNamedListWithStringsIntsLogicalsAndSymbolReferences()
    {
        // list(a = c("x", NA, "café", "naïve"), b = 1:2 with attribute names = c("p","q"), c = TRUE)
        var w = XdrWriter.WithHeader();
        w.Flags(Vec, HasAttr).Int32(3);
        w.Flags(Str).Int32(4).CharSxp("x").CharSxp(null).CharSxp("café", Utf8Level).CharSxp("naïve", Latin1Level, Encoding.Latin1);
        w.Flags(Int, HasAttr).Int32(2).Int32(1).Int32(2);
        w.Flags(List, HasTag).Symbol("names").Strings("p", "q").Flags(Nil);
        w.Flags(Lgl).Int32(1).Int32(1);
        // The list's own attributes: names again, now as a reference to the symbol read above (index 1).
        w.Flags(List, HasTag).Flags(Ref | (1 << 8)).Strings("a", "b", "c").Flags(Nil);

        var list = Assert.IsType<RList>(RDeserializer.Read(w.ToArray(), "test"));
        var a = Assert.IsType<RStrings>(list.Element("a"));
        Assert.Equal(new string?[] { "x", null, "café", "naïve" }, a.Values);
        var b = Assert.IsType<RInts>(list.Element("b"));
        Assert.Equal(new[] { 1, 2 }, b.Values);
        Assert.False(b.IsLogical);
        Assert.Equal(new string?[] { "p", "q" }, Assert.IsType<RStrings>(b.Attribute("names")).Values);
        var c = Assert.IsType<RInts>(list.Element("c"));
        Assert.True(c.IsLogical);
        Assert.Null(list.Element("missing"));
    }

    [Fact]
    public void ReadsVersion2HeaderAndDoubles()
    {
        var w = XdrWriter.WithHeader(version: 2);
        w.Flags(Real).Int32(2).Bytes(BigEndian(1.5)).Bytes(BigEndian(-2.25));
        var value = Assert.IsType<RDoubles>(RDeserializer.Read(w.ToArray(), "test"));
        Assert.Equal(new[] { 1.5, -2.25 }, value.Values);
    }

    [Fact]
    public void UnflaggedStringsUseTheLatin1NativeEncodingOfTheHeader()
    {
        var w = XdrWriter.WithHeader(native: "latin1");
        w.Flags(Str).Int32(1).CharSxp("é", levels: 0, encoding: Encoding.Latin1);
        Assert.Equal("é", Assert.IsType<RStrings>(RDeserializer.Read(w.ToArray(), "test")).Values[0]);
    }

    [Fact]
    public void RefusesUnsupportedTypesWithTheirCode()
    {
        var w = XdrWriter.WithHeader();
        w.Flags(3); // CLOSXP
        var ex = Assert.Throws<InvalidDataException>(() => RDeserializer.Read(w.ToArray(), "blob"));
        Assert.Contains("type 3", ex.Message);
        Assert.StartsWith("blob:", ex.Message);
    }

    [Theory]
    [InlineData("A\n")]
    [InlineData("B\n")]
    [InlineData("")]
    public void RefusesOtherFormats(string header)
    {
        var ex = Assert.Throws<InvalidDataException>(() => RDeserializer.Read(Encoding.ASCII.GetBytes(header + "\0\0\0\u0003"), "f"));
        Assert.Contains("XDR", ex.Message);
    }

    [Fact]
    public void RefusesUnknownVersionTruncationBadUtf8AndDanglingReferences()
    {
        var v4 = XdrWriter.WithHeader(version: 2).ToArray();
        v4[5] = 4;
        Assert.Contains("version 4", Assert.Throws<InvalidDataException>(() => RDeserializer.Read(v4, "f")).Message);

        var truncated = XdrWriter.WithHeader().Flags(Str).Int32(3).CharSxp("x").ToArray();
        Assert.Contains("unexpected end", Assert.Throws<InvalidDataException>(() => RDeserializer.Read(truncated, "f")).Message);

        var badUtf8 = XdrWriter.WithHeader().Flags(Str).Int32(1).Flags(Chr, 0, Utf8Level).Int32(1).Bytes(new byte[] { 0xFF }).ToArray();
        Assert.Contains("UTF-8", Assert.Throws<InvalidDataException>(() => RDeserializer.Read(badUtf8, "f")).Message);

        var dangling = XdrWriter.WithHeader().Flags(Ref | (5 << 8)).ToArray();
        Assert.Contains("reference 5", Assert.Throws<InvalidDataException>(() => RDeserializer.Read(dangling, "f")).Message);

        var notChars = XdrWriter.WithHeader().Flags(Str).Int32(1).Flags(Int).Int32(0).ToArray();
        Assert.Contains("not CHARSXP", Assert.Throws<InvalidDataException>(() => RDeserializer.Read(notChars, "f")).Message);
    }

    private static byte[] BigEndian(double value)
    {
        byte[] bytes = BitConverter.GetBytes(value);
        if (BitConverter.IsLittleEndian) Array.Reverse(bytes);
        return bytes;
    }
}
