using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Tests.Formats;

namespace Optimizer.Engine.Tests.Gguf;

/// <summary>Every malformed-file path of <see cref="GgufFile.Open"/> fails with its code, naming the file and a byte offset.</summary>
public sealed class GgufRejectionTests
{
    private static void Rejects(byte[] bytes, string code, params string[] parts)
    {
        using var temp = new TempFolder();
        string path = temp.Write("bad.gguf", bytes);
        var ex = FormatsAssert.Fails(code, path, () => GgufFile.Open(path).Dispose(), parts);
        if (!ex.Message.Contains("general.alignment", StringComparison.Ordinal)) Assert.Contains("(at byte ", ex.Message);
    }

    private static RawGguf OneTensor(string name, ulong[] dims, uint type, ulong offset, int dataBytes)
    {
        var raw = new RawGguf().Header(1, 0).Tensor(name, dims, type, offset).Align();
        return raw.Bytes(new byte[dataBytes]);
    }

    [Fact] public void EmptyFile() => Rejects(Array.Empty<byte>(), ErrorCodes.GgufTruncated, "empty");
    [Fact] public void ShortHeader() => Rejects(new RawGguf().U32(0x46554747).U32(3).ToArray(), ErrorCodes.GgufTruncated, "tensor count");
    [Fact] public void BadMagic() => Rejects(new RawGguf().Header(0, 0, magic: 0x4C4C5547).ToArray(), ErrorCodes.GgufMagicInvalid, "47 55 4C 4C");
    [Fact] public void SafetensorsIsNotGguf() => Rejects(new byte[] { 8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}' }, ErrorCodes.GgufMagicInvalid, "Not a GGUF file");
    [Fact] public void VersionOne() => Rejects(new RawGguf().Header(0, 0, version: 1).ToArray(), ErrorCodes.GgufVersionUnsupported, "version 1");
    [Fact] public void VersionFour() => Rejects(new RawGguf().Header(0, 0, version: 4).ToArray(), ErrorCodes.GgufVersionUnsupported, "version 4");
    [Fact] public void BigEndian() => Rejects(new RawGguf().Header(0, 0, version: 0x03000000).ToArray(), ErrorCodes.GgufVersionUnsupported, "big-endian");
    [Fact] public void HugeTensorCount() => Rejects(new RawGguf().Header(ulong.MaxValue, 0).ToArray(), ErrorCodes.GgufTruncated, "tensor count");
    [Fact] public void HugeKvCount() => Rejects(new RawGguf().Header(0, 1UL << 40).ToArray(), ErrorCodes.GgufTruncated, "metadata count");
    [Fact] public void KeyLengthPastEnd() => Rejects(new RawGguf().Header(0, 1).U64(1000).Bytes(new byte[20]).ToArray(), ErrorCodes.GgufTruncated, "1000 bytes");
    [Fact] public void EmptyKey() => Rejects(new RawGguf().Header(0, 1).String("").U32(4).U32(1).ToArray(), ErrorCodes.GgufMetadataInvalid, "empty");
    [Fact] public void DuplicateKey() => Rejects(new RawGguf().Header(0, 2).KvU32("a", 1).KvU32("a", 2).ToArray(), ErrorCodes.GgufMetadataInvalid, "'a' appears twice");
    [Fact] public void UnknownValueType() => Rejects(new RawGguf().Header(0, 1).String("a").U32(13).U32(0).ToArray(), ErrorCodes.GgufMetadataInvalid, "unknown value type 13");
    [Fact] public void BoolNotZeroOrOne() => Rejects(new RawGguf().Header(0, 1).String("b").U32(7).U8(2).ToArray(), ErrorCodes.GgufMetadataInvalid, "bool stored as 2");
    [Fact] public void InvalidUtf8() => Rejects(new RawGguf().Header(0, 1).String("s").U32(8).StringBytes(new byte[] { 0xC3, 0x28 }).ToArray(), ErrorCodes.GgufMetadataInvalid, "UTF-8");
    [Fact] public void ValueCutShort() => Rejects(new RawGguf().Header(0, 1).String("v").U32(10).U32(7).ToArray(), ErrorCodes.GgufTruncated, "'v'");
    [Fact] public void ArrayCountPastEnd() => Rejects(new RawGguf().Header(0, 1).String("arr").U32(9).U32(5).U64(1000).Bytes(new byte[16]).ToArray(), ErrorCodes.GgufTruncated, "1000 Int32 elements");
    [Fact] public void ArrayOfUnknownType() => Rejects(new RawGguf().Header(0, 1).String("arr").U32(9).U32(99).U64(0).ToArray(), ErrorCodes.GgufMetadataInvalid, "unknown value type 99");

    [Fact]
    public void ArraysNestedTooDeep()
    {
        var raw = new RawGguf().Header(0, 1).String("deep").U32(9);
        for (int i = 0; i < 9; i++) raw.U32(9).U64(1);
        raw.U32(4).U64(0);
        Rejects(raw.ToArray(), ErrorCodes.GgufMetadataInvalid, "deeper");
    }

    [Fact] public void AlignmentNotPowerOfTwo() => Rejects(new RawGguf().Header(0, 1).KvU32("general.alignment", 24).ToArray(), ErrorCodes.GgufMetadataInvalid, "power of two");
    [Fact] public void AlignmentWrongType() => Rejects(new RawGguf().Header(0, 1).String("general.alignment").U32(10).U64(32).ToArray(), ErrorCodes.GgufMetadataInvalid, "general.alignment");
    [Fact] public void TensorNameTooLong() => Rejects(OneTensor(new string('x', 64), new ulong[] { 4 }, 0, 0, 16).ToArray(), ErrorCodes.GgufTensorInfoInvalid, "64 bytes");
    [Fact] public void TensorNameEmpty() => Rejects(OneTensor("", new ulong[] { 4 }, 0, 0, 16).ToArray(), ErrorCodes.GgufTensorInfoInvalid, "0 bytes");
    [Fact] public void ZeroDimensions() => Rejects(OneTensor("t", Array.Empty<ulong>(), 0, 0, 16).ToArray(), ErrorCodes.GgufTensorInfoInvalid, "0 dimensions");
    [Fact] public void FiveDimensions() => Rejects(OneTensor("t", new ulong[] { 1, 1, 1, 1, 1 }, 0, 0, 16).ToArray(), ErrorCodes.GgufTensorInfoInvalid, "5 dimensions");
    [Fact] public void UnknownTensorType() => Rejects(OneTensor("t", new ulong[] { 4 }, 4, 0, 16).ToArray(), ErrorCodes.GgufTensorInfoInvalid, "unknown ggml type 4");
    [Fact] public void RowsNotWholeBlocks() => Rejects(OneTensor("t", new ulong[] { 40, 1 }, 8, 0, 64).ToArray(), ErrorCodes.GgufTensorInfoInvalid, "blocks of 32");
    [Fact] public void DimensionTooLarge() => Rejects(OneTensor("t", new ulong[] { ulong.MaxValue }, 0, 0, 16).ToArray(), ErrorCodes.GgufTensorInfoInvalid, "too large");
    [Fact] public void SizeOverflows() => Rejects(OneTensor("t", new ulong[] { 1UL << 40, 1UL << 40 }, 0, 0, 16).ToArray(), ErrorCodes.GgufTensorInfoInvalid, "too large");
    [Fact] public void MisalignedOffset() => Rejects(OneTensor("t", new ulong[] { 4 }, 0, 8, 64).ToArray(), ErrorCodes.GgufOffsetsInvalid, "multiple of the alignment 32");
    [Fact] public void DataPastEnd() => Rejects(OneTensor("t", new ulong[] { 16 }, 0, 0, 32).ToArray(), ErrorCodes.GgufTruncated, "'t'", "ends beyond the file");

    [Fact]
    public void DuplicateTensorName()
    {
        var raw = new RawGguf().Header(2, 0).Tensor("t", new ulong[] { 4 }, 0, 0).Tensor("t", new ulong[] { 4 }, 0, 32).Align().Bytes(new byte[64]);
        Rejects(raw.ToArray(), ErrorCodes.GgufTensorInfoInvalid, "'t' appears twice");
    }

    [Fact]
    public void OverlappingTensors()
    {
        var raw = new RawGguf().Header(2, 0).Tensor("a", new ulong[] { 16 }, 0, 0).Tensor("b", new ulong[] { 4 }, 0, 32).Align().Bytes(new byte[64]);
        Rejects(raw.ToArray(), ErrorCodes.GgufOffsetsInvalid, "'b'", "overlaps tensor 'a'");
    }

    [Fact]
    public void MissingFileAndFolder()
    {
        using var temp = new TempFolder();
        Assert.Equal(ErrorCodes.ModelNotFound, Assert.Throws<OptimizerException>(() => GgufFile.Open(temp.File("none.gguf"))).Code);
        Assert.Equal(ErrorCodes.InputNotRegularFile, Assert.Throws<OptimizerException>(() => GgufFile.Open(temp.Path)).Code);
    }

    [Fact]
    public void HandBuiltValidFileOpens()
    {
        using var temp = new TempFolder();
        var raw = new RawGguf().Header(2, 1, version: 2).KvU32("general.alignment", 32)
            .Tensor("a", new ulong[] { 8 }, 0, 0).Tensor("b", new ulong[] { 32, 2 }, 8, 32).Align().Bytes(new byte[32 + 68]);
        using var file = GgufFile.Open(temp.Write("ok.gguf", raw.ToArray()));
        Assert.Equal(2u, file.Version);
        Assert.Equal(2, file.Tensors.Count);
        Assert.Equal(68, file.Find("b")!.ByteCount);
        Assert.Equal("Q8_0", file.Find("b")!.TypeName);
    }
}
