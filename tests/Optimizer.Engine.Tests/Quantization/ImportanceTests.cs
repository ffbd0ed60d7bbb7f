using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Tests.Quantization;

/// <summary>The importance-matrix path: lane and scalar fits agree, rows are independent, the API's shapes and errors.</summary>
public class ImportanceTests
{
    public static TheoryData<GgmlType> WeightedTypes => new()
    {
        GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    };

    private static void Weighted(GgmlType type, float[] x, byte[] dst, float[] importance, bool lanes)
    {
        switch (type)
        {
            case GgmlType.Q4_0: Q4_0Kernel.QuantizeWeighted(x, dst, importance, lanes); break;
            case GgmlType.Q4_1: Q4_1Kernel.QuantizeWeighted(x, dst, importance, lanes); break;
            case GgmlType.Q5_0: Q5_0Kernel.QuantizeWeighted(x, dst, importance, lanes); break;
            case GgmlType.Q5_1: Q5_1Kernel.QuantizeWeighted(x, dst, importance, lanes); break;
            case GgmlType.Q2_K: Q2_KKernel.QuantizeWeighted(x, dst, importance, lanes); break;
            case GgmlType.Q3_K: Q3_KKernel.QuantizeWeighted(x, dst, importance, lanes); break;
            case GgmlType.Q4_K: Q4_KKernel.QuantizeWeighted(x, dst, importance, lanes); break;
            case GgmlType.Q5_K: Q5_KKernel.QuantizeWeighted(x, dst, importance, lanes); break;
            default: Q6_KKernel.QuantizeWeighted(x, dst, importance, lanes); break;
        }
    }

    /// <summary>Whole super-blocks for k-quants; 11 blocks of 32 otherwise (the lane path's last batch is 3 blocks).</summary>
    private static int Columns(GgmlType type) => GgmlTypes.BlockSize(type) == 256 ? 768 : 352;

    /// <summary>Log-normal importance with stretches of zeros, huge and tiny values.</summary>
    private static float[] Importance(Random rng, int cols)
    {
        var w = new float[cols];
        for (int c = 0; c < cols; c++)
        {
            w[c] = (c / 16 % 5) switch
            {
                0 => 0f,
                1 => 1e20f,
                2 => 1e-30f,
                3 => rng.Next(4) == 0 ? 0f : 1f,
                _ => MathF.Exp(2 * RandomData.Gaussian(rng)),
            };
        }
        return w;
    }

    [Theory]
    [MemberData(nameof(WeightedTypes))]
    public void Lane_parallel_fits_give_the_scalar_bytes(GgmlType type)
    {
        int cols = Columns(type), rows = 24;
        var rng = new Random(23 + (int)type);
        float[] x = RandomData.Mixed(rng, rows * cols);
        for (int i = 0; i < cols; i++) x[5 * cols + i] = RandomData.Gaussian(rng) * 1e-39f; // a subnormal row
        float[] importance = Importance(rng, cols);
        var lanes = new byte[GgmlQuantizer.RowBytes(type, cols) * rows];
        var scalar = new byte[lanes.Length];
        Weighted(type, x, lanes, importance, lanes: true);
        Weighted(type, x, scalar, importance, lanes: false);
        Assert.Equal(scalar, lanes);
    }

    [Theory]
    [MemberData(nameof(WeightedTypes))]
    public void Each_row_is_quantized_on_its_own(GgmlType type)
    {
        int cols = Columns(type), rows = 5;
        var rng = new Random(3);
        float[] x = RandomData.Gaussian(rng, rows * cols, 0.02f);
        for (int i = 0; i < cols; i++) x[2 * cols + i] *= 100; // a row of another scale: σ² is per row (or super-block)
        float[] importance = Importance(rng, cols);
        int rowBytes = (int)GgmlQuantizer.RowBytes(type, cols);
        var all = new byte[rowBytes * rows];
        GgmlQuantizer.Quantize(type, x, all, importance);
        for (int r = 0; r < rows; r++)
        {
            var one = new byte[rowBytes];
            GgmlQuantizer.Quantize(type, x.AsSpan(r * cols, cols), one, importance);
            Assert.Equal(one, all[(r * rowBytes)..((r + 1) * rowBytes)]);
        }
    }

    [Theory]
    [MemberData(nameof(WeightedTypes))]
    public void Parallel_matrix_bytes_equal_the_serial_ones(GgmlType type)
    {
        const int rows = 67, cols = 512;
        var rng = new Random(8);
        float[] x = RandomData.Mixed(rng, rows * cols);
        float[] importance = Importance(rng, cols);
        byte[] parallel = GgmlQuantizer.QuantizeMatrix(type, x, rows, cols, importance);
        var serial = new byte[parallel.Length];
        GgmlQuantizer.Quantize(type, x, serial, importance);
        Assert.Equal(serial, parallel);
        var oneThread = new byte[parallel.Length];
        GgmlQuantizer.QuantizeMatrix(type, x, rows, cols, importance, oneThread, maxDegreeOfParallelism: 1);
        Assert.Equal(serial, oneThread);
    }

    [Theory]
    [MemberData(nameof(WeightedTypes))]
    public void Empty_importance_is_the_plain_quantizer(GgmlType type)
    {
        float[] x = RandomData.Mixed(new Random(4), 4 * 512);
        byte[] plain = GgmlQuantizer.QuantizeMatrix(type, x, 4, 512);
        Assert.Equal(plain, GgmlQuantizer.QuantizeMatrix(type, x, 4, 512, ReadOnlySpan<float>.Empty));
        var serial = new byte[plain.Length];
        GgmlQuantizer.Quantize(type, x, serial, ReadOnlySpan<float>.Empty);
        Assert.Equal(plain, serial);
    }

    [Theory]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    [InlineData(GgmlType.F32)]
    public void Types_without_an_imatrix_quantizer_ignore_it(GgmlType type)
    {
        var rng = new Random(5);
        float[] x = RandomData.Mixed(rng, 3 * 256);
        float[] importance = Importance(rng, 256);
        Assert.Equal(GgmlQuantizer.QuantizeMatrix(type, x, 3, 256), GgmlQuantizer.QuantizeMatrix(type, x, 3, 256, importance));
    }

    [Theory]
    [MemberData(nameof(WeightedTypes))]
    public void Importance_changes_the_codes_and_lowers_the_error_where_it_is_large(GgmlType type)
    {
        const int rows = 64, cols = 512;
        float[] x = RandomData.Gaussian(new Random(12), rows * cols, 0.02f);
        var uniform = new float[cols];
        uniform.AsSpan().Fill(1f);
        var focused = new float[cols];
        for (int c = 0; c < cols; c++) focused[c] = c % 32 < 4 ? 1000f : 1f; // the first 4 columns of every 32
        double uniformError = FocusedError(type, x, rows, cols, uniform);
        double focusedError = FocusedError(type, x, rows, cols, focused);
        Assert.True(focusedError < 0.9 * uniformError, $"{GgmlTypes.Name(type)}: error on the important columns {focusedError} vs {uniformError} with uniform importance");
    }

    private static double FocusedError(GgmlType type, float[] x, int rows, int cols, float[] importance)
    {
        byte[] y = GgmlQuantizer.QuantizeMatrix(type, x, rows, cols, importance);
        var back = new float[x.Length];
        GgmlQuantizer.DequantizeMatrix(type, y, rows, cols, back);
        double sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            if (i % cols % 32 < 4)
                sum += (x[i] - back[i]) * (double)(x[i] - back[i]);
        }
        return sum;
    }

    [Fact]
    public void Importance_that_does_not_match_the_rows_is_OOPT1101()
    {
        // QuantizeMatrix: one value per column.
        var ex = Assert.Throws<OptimizerException>(() => GgmlQuantizer.QuantizeMatrix(GgmlType.Q4_K, new float[2 * 512], 2, 512, new float[256]));
        Assert.Equal("OOPT1101", ex.Code);
        Assert.Contains("one value per column", ex.Message);
        // Quantize: the importance length is the row length, so it must be whole blocks…
        ex = Assert.Throws<OptimizerException>(() => GgmlQuantizer.Quantize(GgmlType.Q4_K, new float[512], new byte[288], new float[128]));
        Assert.Equal("OOPT1101", ex.Code);
        ex = Assert.Throws<OptimizerException>(() => GgmlQuantizer.Quantize(GgmlType.Q4_0, new float[96], new byte[54], new float[48]));
        Assert.Equal("OOPT1101", ex.Code);
        // …and the values whole rows of it.
        ex = Assert.Throws<OptimizerException>(() => GgmlQuantizer.Quantize(GgmlType.Q4_K, new float[768], new byte[432], new float[512]));
        Assert.Equal("OOPT1101", ex.Code);
        // The usual size checks still come first.
        ex = Assert.Throws<OptimizerException>(() => GgmlQuantizer.Quantize(GgmlType.Q5_K, new float[512], new byte[351], new float[512]));
        Assert.Equal("OOPT1101", ex.Code);
    }
}
