using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Formats;

/// <summary>F16/BF16 conversions (exactness, round-to-nearest-even, specials) and reading tensors as floats.</summary>
public class TensorDataTests
{
    [Theory]
    [InlineData(0x3F80, 1.0f)]
    [InlineData(0xC000, -2.0f)]
    [InlineData(0x0000, 0.0f)]
    [InlineData(0x7F80, float.PositiveInfinity)]
    [InlineData(0x3E20, 0.15625f)]
    public void BFloat16ToFloatIsTheTopHalf(int bits, float expected) => Assert.Equal(expected, TensorData.BFloat16ToFloat((ushort)bits));

    [Fact]
    public void FloatToBFloat16RoundsToNearestEven()
    {
        Assert.Equal(0x3F80, TensorData.FloatToBFloat16(BitConverter.UInt32BitsToSingle(0x3F80_8000)));
        Assert.Equal(0x3F82, TensorData.FloatToBFloat16(BitConverter.UInt32BitsToSingle(0x3F81_8000)));
        Assert.Equal(0x3F81, TensorData.FloatToBFloat16(BitConverter.UInt32BitsToSingle(0x3F80_8001)));
        Assert.Equal(0x3F80, TensorData.FloatToBFloat16(BitConverter.UInt32BitsToSingle(0x3F80_7FFF)));
        Assert.Equal(0x7F80, TensorData.FloatToBFloat16(float.MaxValue));
        Assert.Equal(0xFF80, TensorData.FloatToBFloat16(float.NegativeInfinity));
        Assert.Equal(0x8000, TensorData.FloatToBFloat16(-0.0f));
        ushort nan = TensorData.FloatToBFloat16(BitConverter.UInt32BitsToSingle(0x7F80_0001));
        Assert.True(float.IsNaN(TensorData.BFloat16ToFloat(nan)));
        Assert.True(float.IsNaN(TensorData.BFloat16ToFloat(TensorData.FloatToBFloat16(-float.NaN))));
    }

    [Fact]
    public void EveryBFloat16AndHalfRoundTrips()
    {
        for (int bits = 0; bits <= ushort.MaxValue; bits++)
        {
            float b = TensorData.BFloat16ToFloat((ushort)bits);
            float h = TensorData.HalfToFloat((ushort)bits);
            if (!float.IsNaN(b)) Assert.Equal(bits, TensorData.FloatToBFloat16(b));
            if (!float.IsNaN(h)) Assert.Equal(bits, TensorData.FloatToHalf(h));
        }
    }

    [Fact]
    public void SpanConversionsMatchScalarForEveryBitPattern()
    {
        var bytes = new byte[2 * 65536 + 2];
        for (int bits = 0; bits <= ushort.MaxValue; bits++) System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 + 2 * bits), (ushort)bits);
        var source = bytes.AsSpan(2);
        var halves = new float[65536];
        var bfloats = new float[65536];
        TensorData.HalfToFloat(source, halves);
        TensorData.BFloat16ToFloat(source, bfloats);
        for (int bits = 0; bits <= ushort.MaxValue; bits++)
        {
            float h = (float)BitConverter.UInt16BitsToHalf((ushort)bits);
            Assert.True(float.IsNaN(h) ? float.IsNaN(halves[bits]) : BitConverter.SingleToUInt32Bits(h) == BitConverter.SingleToUInt32Bits(halves[bits]),
                $"F16 0x{bits:X4}: expected {h}, got {halves[bits]}");
            Assert.Equal(BitConverter.SingleToUInt32Bits(TensorData.BFloat16ToFloat((ushort)bits)), BitConverter.SingleToUInt32Bits(bfloats[bits]));
        }
        var tail = new float[3];
        TensorData.HalfToFloat(source.Slice(2 * 0x3C00, 6), tail);
        Assert.Equal(new[] { 1.0f, 1.0009766f, 1.0019531f }, tail);
    }

    [Fact]
    public void HalfConversionMatchesKnownValues()
    {
        Assert.Equal(0x3C00, TensorData.FloatToHalf(1.0f));
        Assert.Equal(0x7BFF, TensorData.FloatToHalf(65504f));
        Assert.Equal(0x7C00, TensorData.FloatToHalf(70000f));
        Assert.Equal(0x0001, TensorData.FloatToHalf(5.9604645e-8f));
        Assert.Equal(0x3C00, TensorData.FloatToHalf(1.0f + 0.00048828125f));
        Assert.Equal(0x3C02, TensorData.FloatToHalf(1.0f + 3 * 0.00048828125f));
        Assert.Equal(-2.0f, TensorData.HalfToFloat(0xC000));
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void ReadsFloatTensorsOfEachType(DType dtype)
    {
        using var temp = new TempFolder();
        float[] values = { 0, 1, -2.5f, 0.15625f, 1024, -0.5f };
        byte[] bytes = dtype switch
        {
            DType.F32 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
            _ => new byte[values.Length * 2],
        };
        if (dtype == DType.F16) TensorData.FloatToHalf(values, bytes);
        if (dtype == DType.BF16) TensorData.FloatToBFloat16(values, bytes);
        string path = temp.File("t.safetensors");
        SafetensorsWriter.Write(path, new[] { SafetensorsEntry.FromBytes("w", dtype, bytes, 2, 3) });
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(values, TensorData.ReadFloat32(file, file.Tensors[0]));
    }

    [Fact]
    public void RefusesIntegerTensors()
    {
        using var temp = new TempFolder();
        string path = temp.File("t.safetensors");
        SafetensorsWriter.Write(path, new[] { SafetensorsEntry.FromBytes("ids", DType.I32, new byte[8], 2) });
        using var file = SafetensorsFile.Open(path);
        var ex = Assert.Throws<OptimizerException>(() => TensorData.ReadFloat32(file, file.Tensors[0]));
        Assert.Equal(ErrorCodes.UnsupportedDType, ex.Code);
        Assert.Contains("'ids'", ex.Message);
        Assert.Equal("t.safetensors", ex.File);
    }

    [Fact]
    public void SpanConversionsCheckLengths()
    {
        Assert.Throws<ArgumentException>(() => TensorData.HalfToFloat(new byte[3], new float[2]));
        Assert.Throws<ArgumentException>(() => TensorData.FloatToBFloat16(new float[2], new byte[2]));
    }
}
