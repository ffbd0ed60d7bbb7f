using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Tests.Quantization;

public class GgmlQuantizerTests
{
    public static TheoryData<GgmlType, double> ErrorBounds => new()
    {
        { GgmlType.F32, 0.0 },
        { GgmlType.F16, 0.0005 },
        { GgmlType.BF16, 0.004 },
        { GgmlType.Q8_0, 0.006 },
        { GgmlType.Q6_K, 0.02 },
        { GgmlType.Q5_K, 0.045 },
        { GgmlType.Q5_1, 0.05 },
        { GgmlType.Q5_0, 0.055 },
        { GgmlType.Q4_K, 0.08 },
        { GgmlType.Q4_1, 0.1 },
        { GgmlType.Q4_0, 0.12 },
        { GgmlType.Q3_K, 0.19 },
        { GgmlType.Q2_K, 0.37 },
    };

    [Theory]
    [MemberData(nameof(ErrorBounds))]
    public void Round_trip_error_of_gaussian_weights_is_within_the_type_bound(GgmlType type, double bound)
    {
        float[] x = RandomData.Gaussian(new Random(7), 256 * 64, 0.02f);
        var y = new byte[GgmlTypes.ByteCount(type, x.Length)];
        GgmlQuantizer.Quantize(type, x, y);
        var back = new float[x.Length];
        GgmlQuantizer.Dequantize(type, y, back);
        double error = QuantizationError.RelativeRmse(x, back);
        Assert.InRange(error, bound == 0 ? 0 : bound / 20, bound);
    }

    [Theory]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q4_1)]
    [InlineData(GgmlType.Q5_0)]
    [InlineData(GgmlType.Q5_1)]
    [InlineData(GgmlType.Q2_K)]
    [InlineData(GgmlType.Q3_K)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    [InlineData(GgmlType.Q6_K)]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    public void Parallel_matrix_bytes_equal_the_serial_ones(GgmlType type)
    {
        const int rows = 67, cols = 512;
        float[] x = RandomData.Mixed(new Random(3), rows * cols);
        byte[] parallel = GgmlQuantizer.QuantizeMatrix(type, x, rows, cols);
        var serial = new byte[parallel.Length];
        GgmlQuantizer.Quantize(type, x, serial);
        Assert.Equal(serial, parallel);
        var oneThread = new byte[parallel.Length];
        GgmlQuantizer.QuantizeMatrix(type, x, rows, cols, oneThread, maxDegreeOfParallelism: 1);
        Assert.Equal(serial, oneThread);
    }

    [Fact]
    public void F32_is_the_little_endian_bytes()
    {
        var y = new byte[8];
        GgmlQuantizer.Quantize(GgmlType.F32, new[] { 1f, -2f }, y);
        Assert.Equal(new byte[] { 0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0 }, y);
        var back = new float[2];
        GgmlQuantizer.Dequantize(GgmlType.F32, y, back);
        Assert.Equal(new[] { 1f, -2f }, back);
    }

    [Fact]
    public void Row_that_is_not_whole_blocks_is_OOPT1101()
    {
        var ex = Assert.Throws<OptimizerException>(() => GgmlQuantizer.QuantizeMatrix(GgmlType.Q4_K, new float[2 * 96], 2, 96));
        Assert.Equal("OOPT1101", ex.Code);
        Assert.Contains("256", ex.Message);
        ex = Assert.Throws<OptimizerException>(() => GgmlQuantizer.Quantize(GgmlType.Q8_0, new float[40], new byte[34]));
        Assert.Equal("OOPT1101", ex.Code);
        ex = Assert.Throws<OptimizerException>(() => GgmlQuantizer.Quantize(GgmlType.Q8_0, new float[32], new byte[33]));
        Assert.Equal("OOPT1101", ex.Code);
        ex = Assert.Throws<OptimizerException>(() => GgmlQuantizer.Dequantize(GgmlType.Q4_0, new byte[18], new float[64]));
        Assert.Equal("OOPT1101", ex.Code);
        ex = Assert.Throws<OptimizerException>(() => GgmlQuantizer.QuantizeMatrix(GgmlType.Q8_0, new float[64], 3, 32));
        Assert.Equal("OOPT1101", ex.Code);
    }

    [Theory]
    [InlineData(GgmlType.Q4_1, 32)]
    [InlineData(GgmlType.Q5_0, 32)]
    [InlineData(GgmlType.Q5_1, 32)]
    [InlineData(GgmlType.Q2_K, 256)]
    [InlineData(GgmlType.Q3_K, 256)]
    [InlineData(GgmlType.Q5_K, 256)]
    public void New_types_reject_sizes_that_are_not_whole_blocks_with_OOPT1101(GgmlType type, int block)
    {
        int bytes = GgmlTypes.BlockBytes(type);
        var ex = Assert.Throws<OptimizerException>(() => GgmlQuantizer.Quantize(type, new float[block + 8], new byte[bytes]));
        Assert.Equal("OOPT1101", ex.Code);
        ex = Assert.Throws<OptimizerException>(() => GgmlQuantizer.Quantize(type, new float[block], new byte[bytes + 1]));
        Assert.Equal("OOPT1101", ex.Code);
        ex = Assert.Throws<OptimizerException>(() => GgmlQuantizer.Dequantize(type, new byte[bytes], new float[2 * block]));
        Assert.Equal("OOPT1101", ex.Code);
        ex = Assert.Throws<OptimizerException>(() => GgmlQuantizer.QuantizeMatrix(type, new float[2 * (block + 16)], 2, block + 16));
        Assert.Equal("OOPT1101", ex.Code);
        Assert.Contains(GgmlTypes.Name(type), ex.Message);
    }

    [Theory]
    [InlineData(GgmlType.Q4_1, "Q4_1", 3u, 32, 20)]
    [InlineData(GgmlType.Q5_0, "Q5_0", 6u, 32, 22)]
    [InlineData(GgmlType.Q5_1, "Q5_1", 7u, 32, 24)]
    [InlineData(GgmlType.Q2_K, "Q2_K", 10u, 256, 84)]
    [InlineData(GgmlType.Q3_K, "Q3_K", 11u, 256, 110)]
    [InlineData(GgmlType.Q5_K, "Q5_K", 13u, 256, 176)]
    public void New_types_have_ggml_ids_geometry_and_names(GgmlType type, string name, uint id, int block, int bytes)
    {
        Assert.Equal(id, (uint)type);
        Assert.Equal(name, GgmlTypes.Name(type));
        Assert.Equal(block, GgmlTypes.BlockSize(type));
        Assert.Equal(bytes, GgmlTypes.BlockBytes(type));
        Assert.True(GgmlTypes.TryParse(name.ToLowerInvariant(), out GgmlType parsed) && parsed == type);
        Assert.Equal(Optimizer.Engine.Formats.Gguf.GgufTensorTypes.BlockBytes(type), bytes);
    }

    [Theory]
    [InlineData(GgmlType.Q8_0, 4096, 4352)]
    [InlineData(GgmlType.Q4_0, 4096, 2304)]
    [InlineData(GgmlType.Q4_1, 4096, 2560)]
    [InlineData(GgmlType.Q5_0, 4096, 2816)]
    [InlineData(GgmlType.Q5_1, 4096, 3072)]
    [InlineData(GgmlType.Q2_K, 4096, 1344)]
    [InlineData(GgmlType.Q3_K, 4096, 1760)]
    [InlineData(GgmlType.Q4_K, 4096, 2304)]
    [InlineData(GgmlType.Q5_K, 4096, 2816)]
    [InlineData(GgmlType.Q6_K, 4096, 3360)]
    [InlineData(GgmlType.BF16, 10, 20)]
    public void Row_bytes(GgmlType type, long cols, long bytes)
    {
        Assert.Equal(bytes, GgmlQuantizer.RowBytes(type, cols));
    }
}
