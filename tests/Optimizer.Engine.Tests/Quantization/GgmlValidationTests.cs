using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Tests.Quantization;

public class GgmlValidationTests
{
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
    [InlineData(GgmlType.F32)]
    public void Finds_the_first_block_whose_scale_or_value_is_not_finite(GgmlType type)
    {
        float[] x = RandomData.Gaussian(new Random(4), 256 * 4);
        var bytes = new byte[GgmlTypes.ByteCount(type, x.Length)];
        GgmlQuantizer.Quantize(type, x, bytes);
        Assert.Equal(-1, GgmlValidation.FirstNonFinite(type, bytes));

        x[600] = type is GgmlType.BF16 or GgmlType.F32 ? float.PositiveInfinity : 1e10f; // overflows the fp16 scale (and F16)
        GgmlQuantizer.Quantize(type, x, bytes);
        long expected = 600 / GgmlTypes.BlockSize(type);
        Assert.Equal(expected, GgmlValidation.FirstNonFinite(type, bytes));
    }

    [Fact]
    public void Partial_block_is_OOPT1101()
    {
        var ex = Assert.Throws<OptimizerException>(() => GgmlValidation.FirstNonFinite(GgmlType.Q8_0, new byte[35]));
        Assert.Equal("OOPT1101", ex.Code);
    }
}
