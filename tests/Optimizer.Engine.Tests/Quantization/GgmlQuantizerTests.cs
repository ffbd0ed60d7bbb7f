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
        { GgmlType.Q4_K, 0.08 },
        { GgmlType.Q4_0, 0.12 },
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
    [InlineData(GgmlType.Q4_K)]
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
    [InlineData(GgmlType.Q8_0, 4096, 4352)]
    [InlineData(GgmlType.Q4_0, 4096, 2304)]
    [InlineData(GgmlType.Q4_K, 4096, 2304)]
    [InlineData(GgmlType.Q6_K, 4096, 3360)]
    [InlineData(GgmlType.BF16, 10, 20)]
    public void Row_bytes(GgmlType type, long cols, long bytes)
    {
        Assert.Equal(bytes, GgmlQuantizer.RowBytes(type, cols));
    }
}
