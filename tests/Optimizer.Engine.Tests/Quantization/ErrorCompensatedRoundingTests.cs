using Optimizer.Engine.Quantization;
using Optimizer.Engine.Quantization.ErrorCompensation;
using Xunit;

namespace Optimizer.Engine.Tests.Quantization;

public sealed class ErrorCompensatedRoundingTests
{
    public static readonly TheoryData<GgmlType> Types = new()
    {
        GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    };

    [Theory]
    [MemberData(nameof(Types))]
    public void The_grid_decodes_every_code_bit_for_bit_as_ggml_and_codes_are_stored_in_place(GgmlType type)
    {
        var rng = new Random(7);
        int n = 4 * 256;
        float[] x = RandomData.Mixed(rng, n);
        byte[] encoded = GgmlQuantizer.QuantizeMatrix(type, x, 1, n);
        var expected = new float[n];
        GgmlQuantizer.DequantizeMatrix(type, encoded, 1, n, expected);
        int blockSize = GgmlTypes.BlockSize(type), blockBytes = GgmlTypes.BlockBytes(type);
        var (offset, maxCode) = BlockGrid.Codes(type);
        var a = new float[blockSize];
        var b = new float[blockSize];
        for (int block = 0; block < n / blockSize; block++)
        {
            Span<byte> bytes = encoded.AsSpan(block * blockBytes, blockBytes);
            BlockGrid.Grid(type, bytes, a, b);
            for (int k = 0; k < blockSize; k++)
            {
                int q = BlockGrid.GetCode(type, bytes, k);
                Assert.InRange(q, 0, maxCode);
                float value = BlockGrid.Value(q, offset, a[k], b[k]);
                Assert.Equal(BitConverter.SingleToInt32Bits(expected[block * blockSize + k]) & 0x7FFFFFFF, BitConverter.SingleToInt32Bits(value) & 0x7FFFFFFF);

                byte[] before = bytes.ToArray();
                BlockGrid.SetCode(type, bytes, k, q);
                Assert.Equal(before, bytes.ToArray());

                // Another code changes that element only.
                int other = q == maxCode ? 0 : maxCode;
                BlockGrid.SetCode(type, bytes, k, other);
                Assert.Equal(other, BlockGrid.GetCode(type, bytes, k));
                var changed = new float[blockSize];
                GgmlQuantizer.Dequantize(type, bytes, changed);
                for (int j = 0; j < blockSize; j++)
                {
                    float want = j == k ? BlockGrid.Value(other, offset, a[j], b[j]) : expected[block * blockSize + j];
                    Assert.Equal(want, changed[j]);
                }
                BlockGrid.SetCode(type, bytes, k, q);
                Assert.Equal(before, bytes.ToArray());
            }
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void With_an_identity_Hessian_the_codes_are_plain_nearest_rounding_on_ggmls_own_scales(GgmlType type)
    {
        var rng = new Random(11);
        int rows = 5, cols = 512;
        float[] w = RandomData.Gaussian(rng, rows * cols, 0.05f);
        float[] identity = Identity(cols);
        byte[] compensated = ErrorCompensatedRounding.Quantize(type, w, rows, cols, identity, ReadOnlySpan<float>.Empty);
        byte[] stock = GgmlQuantizer.QuantizeMatrix(type, w, rows, cols);
        Assert.Equal(stock.Length, compensated.Length);
        var x = new float[w.Length];
        var y = new float[w.Length];
        GgmlQuantizer.DequantizeMatrix(type, compensated, rows, cols, x);
        GgmlQuantizer.DequantizeMatrix(type, stock, rows, cols, y);
        int differ = 0;
        for (int i = 0; i < w.Length; i++)
        {
            if (x[i] == y[i]) continue;
            differ++;
            // ggml rounds against its scale before the fp16 rounding of the stored scale, so near a midpoint it can pick
            // the farther code; on the stored grid ours is the nearest, never farther.
            Assert.True(Math.Abs(w[i] - x[i]) <= Math.Abs(w[i] - y[i]) + 1e-7f, $"element {i}: {w[i]} → {x[i]} vs ggml {y[i]}");
        }
        Assert.True(differ <= w.Length / 50, $"{differ} of {w.Length} values differ from ggml's rounding");
    }

    [Theory]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q3_K)]
    [InlineData(GgmlType.Q6_K)]
    [InlineData(GgmlType.Q5_1)]
    public void Compensation_lowers_the_output_error_on_correlated_inputs_and_is_deterministic(GgmlType type)
    {
        var rng = new Random(3);
        int rows = 24, cols = 256, tokens = 2048;
        float[] w = RandomData.Gaussian(rng, rows * cols, 0.05f);
        float[] inputs = CorrelatedInputs(rng, tokens, cols);
        double[] h = Hessian(inputs, tokens, cols);
        float[] importance = Enumerable.Range(0, cols).Select(i => (float)(h[i * cols + i] / tokens)).ToArray();
        float[] factor = ErrorCompensatedRounding.InverseFactor((double[])h.Clone(), cols, ErrorCompensatedRounding.DefaultDamping, out double damping)
            ?? throw new InvalidOperationException("not positive definite");
        Assert.Equal(ErrorCompensatedRounding.DefaultDamping, damping);

        byte[] compensated = ErrorCompensatedRounding.Quantize(type, w, rows, cols, factor, importance);
        byte[] again = ErrorCompensatedRounding.Quantize(type, w, rows, cols, factor, importance);
        Assert.Equal(compensated, again);
        byte[] stock = GgmlQuantizer.QuantizeMatrix(type, w, rows, cols, importance);

        double errorCompensated = OutputError(type, compensated, w, rows, cols, h);
        double errorStock = OutputError(type, stock, w, rows, cols, h);
        Assert.True(errorCompensated < 0.8 * errorStock, $"{type}: compensated output error {errorCompensated:G4} vs importance-weighted rounding {errorStock:G4}");
    }

    [Fact]
    public void The_inverse_factor_is_the_upper_Cholesky_factor_of_the_damped_inverse_and_dead_columns_are_isolated()
    {
        var rng = new Random(5);
        int n = 32, tokens = 200;
        float[] inputs = CorrelatedInputs(rng, tokens, n);
        for (int t = 0; t < tokens; t++) inputs[t * n + 7] = 0; // a dead channel
        double[] h = Hessian(inputs, tokens, n);
        float[] u = ErrorCompensatedRounding.InverseFactor((double[])h.Clone(), n, 0.01, out _)!;
        Assert.NotNull(u);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < i; j++) Assert.Equal(0f, u[i * n + j]);
        // Uᵀ U (H + λ) = I, with the dead column's diagonal taken as 1.
        double mean = 0;
        var damped = (double[])h.Clone();
        damped[7 * n + 7] = 1;
        for (int i = 0; i < n; i++) mean += damped[i * n + i];
        mean /= n;
        for (int i = 0; i < n; i++) damped[i * n + i] += 0.01 * mean;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double product = 0;
                for (int k = 0; k < n; k++)
                {
                    double inverse = 0;
                    for (int m = 0; m < n; m++) inverse += (double)u[m * n + i] * u[m * n + k];
                    product += inverse * damped[k * n + j];
                }
                Assert.True(Math.Abs(product - (i == j ? 1 : 0)) < 1e-3, $"({i},{j}) = {product}");
            }
        }
        for (int j = 0; j < n; j++)
            if (j != 7) Assert.Equal(0f, u[7 * n + j]);
    }

    [Fact]
    public void A_matrix_that_no_damping_makes_positive_definite_gives_null()
    {
        int n = 4;
        var h = new double[n * n];
        for (int i = 0; i < n; i++) h[i * n + i] = 1;
        h[0 * n + 1] = h[1 * n + 0] = 1e5; // indefinite however damped (λ at most 100 × the mean diagonal)
        Assert.Null(ErrorCompensatedRounding.InverseFactor(h, n, 0.01, out _));
    }

    [Fact]
    public void Shapes_the_type_cannot_hold_are_refused_with_a_code()
    {
        Assert.False(ErrorCompensatedRounding.Supports(GgmlType.Q4_K, 96));
        Assert.False(ErrorCompensatedRounding.Supports(GgmlType.F16, 256));
        var ex = Assert.Throws<OptimizerException>(() =>
            ErrorCompensatedRounding.Quantize(GgmlType.Q4_K, new float[96], 1, 96, Identity(96), ReadOnlySpan<float>.Empty));
        Assert.Equal(ErrorCodes.QuantizationShapeInvalid, ex.Code);
    }

    internal static float[] Identity(int n)
    {
        var u = new float[n * n];
        for (int i = 0; i < n; i++) u[i * n + i] = 1;
        return u;
    }

    /// <summary>Inputs with strongly correlated neighbouring channels and a few large channels, as real activations have.</summary>
    internal static float[] CorrelatedInputs(Random rng, int tokens, int cols)
    {
        var x = new float[tokens * cols];
        for (int t = 0; t < tokens; t++)
        {
            float shared = RandomData.Gaussian(rng);
            float previous = 0;
            for (int c = 0; c < cols; c++)
            {
                float v = 0.7f * previous + 0.5f * RandomData.Gaussian(rng) + 0.3f * shared;
                x[t * cols + c] = c % 37 == 0 ? 8 * v : v;
                previous = v;
            }
        }
        return x;
    }

    internal static double[] Hessian(float[] x, int tokens, int cols)
    {
        var h = new double[cols * cols];
        for (int t = 0; t < tokens; t++)
            for (int i = 0; i < cols; i++)
            {
                double xi = x[t * cols + i];
                if (xi == 0) continue;
                for (int j = 0; j < cols; j++) h[i * cols + j] += xi * x[t * cols + j];
            }
        return h;
    }

    /// <summary>Σ_rows Δᵀ H Δ with Δ the row's dequantization error: the squared output error over the calibration tokens.</summary>
    private static double OutputError(GgmlType type, byte[] encoded, float[] w, int rows, int cols, double[] h)
    {
        var restored = new float[w.Length];
        GgmlQuantizer.DequantizeMatrix(type, encoded, rows, cols, restored);
        double total = 0;
        var delta = new double[cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++) delta[c] = w[r * cols + c] - restored[r * cols + c];
            for (int i = 0; i < cols; i++)
            {
                double s = 0;
                for (int j = 0; j < cols; j++) s += h[i * cols + j] * delta[j];
                total += delta[i] * s;
            }
        }
        return total;
    }
}
