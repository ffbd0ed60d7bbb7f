using System.Buffers.Binary;
using System.Text;
using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Formats;

/// <summary>One test per way a safetensors file can be malformed: the right code, the file named, the place named.</summary>
public class SafetensorsRejectionTests
{
    private static readonly long[] Two = { 2 };

    private static OptimizerException Rejects(string code, byte[] bytes, params string[] messageParts)
    {
        using var temp = new TempFolder();
        string path = temp.Write("bad.safetensors", bytes);
        return FormatsAssert.Fails(code, path, () => SafetensorsFile.Open(path), messageParts);
    }

    private static byte[] Valid()
    {
        using var temp = new TempFolder();
        string path = temp.File("v.safetensors");
        SafetensorsWriter.Write(path, new[]
        {
            SafetensorsEntry.FromFloats("a", new float[] { 1, 2, 3, 4 }, 2, 2),
            SafetensorsEntry.FromFloats("b", new float[] { 5, 6 }, 2),
        });
        return File.ReadAllBytes(path);
    }

    [Fact]
    public void ZeroLengthFile() => Rejects(ErrorCodes.SafetensorsTruncated, Array.Empty<byte>(), "truncated", "0 bytes");

    [Fact]
    public void ShorterThanTheLengthPrefix() => Rejects(ErrorCodes.SafetensorsTruncated, new byte[] { 1, 0, 0 }, "3 bytes");

    [Fact]
    public void TruncatedData()
    {
        byte[] valid = Valid();
        Rejects(ErrorCodes.SafetensorsTruncated, valid[..^3], "truncated", "tensor 'b'", $"only {valid.Length - 3} bytes");
    }

    [Fact]
    public void HeaderLengthBeyondFile()
    {
        byte[] bytes = Valid();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)bytes.Length);
        Rejects(ErrorCodes.SafetensorsTruncated, bytes, "beyond the file");
    }

    [Fact]
    public void HeaderLengthAboveLimit()
    {
        var bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        Rejects(ErrorCodes.SafetensorsHeaderInvalid, bytes, "exceeds the limit");
    }

    [Fact]
    public void HeaderNotJson()
    {
        const string header = "{\"a\": {\"dtype\": nope}}";
        var ex = Rejects(ErrorCodes.SafetensorsHeaderInvalid, RawSafetensors.Build(header, 0), "not valid JSON");
        var match = System.Text.RegularExpressions.Regex.Match(ex.Message, @"byte offset (\d+)");
        Assert.True(match.Success, ex.Message);
        int at = int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        int bad = 8 + header.IndexOf("nope", StringComparison.Ordinal);
        Assert.InRange(at, bad, bad + 4);
    }

    [Fact]
    public void HeaderNotAnObject() => Rejects(ErrorCodes.SafetensorsHeaderInvalid, RawSafetensors.Build("[1, 2]", 0), "JSON object");

    [Fact]
    public void HeaderNotUtf8()
    {
        byte[] bytes = RawSafetensors.Build("{\"a\u00e9\":1}", 0);
        bytes[11] = 0xFF;
        Rejects(ErrorCodes.SafetensorsHeaderInvalid, bytes, "UTF-8", "byte offset 11");
    }

    [Fact]
    public void EntryMissingDType() =>
        Rejects(ErrorCodes.SafetensorsHeaderInvalid, RawSafetensors.Build("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "'w'", "dtype");

    [Fact]
    public void EntryMissingOffsets() =>
        Rejects(ErrorCodes.SafetensorsHeaderInvalid, RawSafetensors.Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8), "'w'", "data_offsets");

    [Fact]
    public void NegativeDimension() =>
        Rejects(ErrorCodes.SafetensorsHeaderInvalid, RawSafetensors.Build(RawSafetensors.Header(("w", "F32", new long[] { -2 }, 0, 8)), 8), "'w'", "shape");

    [Fact]
    public void UnknownDType() =>
        Rejects(ErrorCodes.UnsupportedDType, RawSafetensors.Build(RawSafetensors.Header(("w", "F8_E4M3", Two, 0, 2)), 2), "'w'", "F8_E4M3");

    [Fact]
    public void DuplicateName() =>
        Rejects(ErrorCodes.DuplicateTensor, RawSafetensors.Build(
            "{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}", 4), "'w'");

    [Fact]
    public void MetadataMustBeStrings() =>
        Rejects(ErrorCodes.SafetensorsHeaderInvalid, RawSafetensors.Build("{\"__metadata__\":{\"n\":1}}", 0), "__metadata__", "\"n\"");

    [Fact]
    public void OffsetsWithAGap() =>
        Rejects(ErrorCodes.SafetensorsOffsetsInvalid,
            RawSafetensors.Build(RawSafetensors.Header(("a", "F32", Two, 0, 8), ("b", "F32", Two, 12, 20)), 20), "Gap of 4 bytes", "'b'");

    [Fact]
    public void OffsetsOverlap() =>
        Rejects(ErrorCodes.SafetensorsOffsetsInvalid,
            RawSafetensors.Build(RawSafetensors.Header(("a", "F32", Two, 0, 8), ("b", "F32", Two, 4, 12)), 12), "'b'", "overlaps tensor 'a'");

    [Fact]
    public void OffsetsNotStartingAtZero() =>
        Rejects(ErrorCodes.SafetensorsOffsetsInvalid, RawSafetensors.Build(RawSafetensors.Header(("a", "F32", Two, 4, 12)), 12), "Gap", "'a'");

    [Fact]
    public void OffsetsOutOfRange() =>
        Rejects(ErrorCodes.SafetensorsHeaderInvalid,
            RawSafetensors.Build(RawSafetensors.Header(("a", "F32", Two, 0, 8)).Replace("[0,8]", "[0,18446744073709551615]"), 8), "'a'", "data_offsets");

    [Fact]
    public void OffsetsReversed() =>
        Rejects(ErrorCodes.SafetensorsOffsetsInvalid, RawSafetensors.Build(RawSafetensors.Header(("a", "U8", new long[] { 0 }, 8, 0)), 8), "'a'", "before it begins");

    [Fact]
    public void ShapeTimesDTypeDiffersFromSpan() =>
        Rejects(ErrorCodes.SafetensorsOffsetsInvalid, RawSafetensors.Build(RawSafetensors.Header(("a", "F16", new long[] { 3 }, 0, 8)), 8), "'a'", "spans 8 bytes", "needs 6");

    [Fact]
    public void ShapeOverflow() =>
        Rejects(ErrorCodes.SafetensorsOffsetsInvalid,
            RawSafetensors.Build(RawSafetensors.Header(("a", "F32", new long[] { long.MaxValue / 2, 4 }, 0, 8)), 8), "'a'", "overflows");

    [Fact]
    public void TrailingBytesAfterLastTensor() =>
        Rejects(ErrorCodes.SafetensorsOffsetsInvalid, RawSafetensors.Build(RawSafetensors.Header(("a", "F32", Two, 0, 8)), 12), "4 bytes", "not described");

    [Fact]
    public void MissingFileAndFolder()
    {
        using var temp = new TempFolder();
        string missing = temp.File("nope.safetensors");
        FormatsAssert.Fails(ErrorCodes.ModelNotFound, missing, () => SafetensorsFile.Open(missing), "does not exist");
        FormatsAssert.Fails(ErrorCodes.InputNotRegularFile, temp.Path, () => SafetensorsFile.Open(temp.Path), "folder");
    }

    [Fact]
    public void CanonicalFormNamesTheFile()
    {
        var ex = Rejects(ErrorCodes.SafetensorsTruncated, Encoding.ASCII.GetBytes("abc"));
        Assert.EndsWith($"bad.safetensors: error {ErrorCodes.SafetensorsTruncated}: {ex.Message}", ex.ToCanonicalString());
    }
}
