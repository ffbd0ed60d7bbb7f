using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Tests.Quantization;

public class Q4_0KernelTests
{
    private static byte[] Quantize(float[] x, bool vector)
    {
        var dst = new byte[x.Length / 32 * 18];
        if (vector) Q4_0Kernel.QuantizeVector(x, dst); else Q4_0Kernel.QuantizeScalar(x, dst);
        return dst;
    }

    public static TheoryData<bool> Paths => new() { false, true };

    [Theory]
    [MemberData(nameof(Paths))]
    public void Zero_block_stores_negative_zero_scale_and_code_8(bool vector)
    {
        byte[] y = Quantize(new float[32], vector);
        Assert.Equal(0x00, y[0]); // d = 0 / -8 = -0: fp16 0x8000, as llama.cpp writes it
        Assert.Equal(0x80, y[1]);
        Assert.All(y[2..], b => Assert.Equal(0x88, b));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void First_of_equal_magnitudes_sets_the_sign_and_codes_truncate_and_clamp(bool vector)
    {
        var x = new float[32];
        x[0] = 8f;   // the first element of largest |x|: max = 8, d = -1, id = -1
        x[1] = -8f;  // -(-8) + 8.5 = 16.5 -> 16 -> MIN(15)
        x[2] = 7f;   // 1.5 -> 1
        x[3] = 0.5f; // 8.0 -> 8
        x[4] = -0.5f; // 9.0 -> 9
        x[5] = 3.4f; // 5.1 -> 5
        x[16] = -3.6f; // 12.1 -> 12
        x[17] = 1f;  // 7.5 -> 7
        byte[] y = Quantize(x, vector);
        Assert.Equal(new byte[] { 0x00, 0xBC, 0xC0, 0x7F, 0x81, 0x88, 0x89, 0x85 }, y[..8]);
        Assert.All(y[8..], b => Assert.Equal(0x88, b));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Negative_maximum_gives_a_positive_scale(bool vector)
    {
        var x = new float[32];
        x[5] = -8f; x[6] = 8f; // -8 comes first: d = 1
        x[20] = 1f; // 9.5 -> 9
        byte[] y = Quantize(x, vector);
        Assert.Equal(0x00, y[0]);
        Assert.Equal(0x3C, y[1]);
        Assert.Equal(0x80, y[2 + 5]); // low nibble: -8 + 8.5 -> 0; high nibble (x[21] = 0) -> 8
        Assert.Equal(0x8F, y[2 + 6]); // 16.5 -> 15
        Assert.Equal(0x98, y[2 + 4]); // x[4] = 0 -> 8, x[20] -> 9
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void All_equal_block_uses_codes_0_only(bool vector)
    {
        float[] x = Enumerable.Repeat(-2f, 32).ToArray(); // max = -2, d = 0.25, x*id + 8.5 = 0.5 -> 0
        byte[] y = Quantize(x, vector);
        Assert.Equal(0x00, y[0]);
        Assert.Equal(0x34, y[1]); // fp16(0.25)
        Assert.All(y[2..], b => Assert.Equal(0x00, b));
        var back = new float[32];
        Q4_0Kernel.Dequantize(y, back);
        Assert.All(back, v => Assert.Equal(-2f, v));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Tiny_scale_underflows_fp16_but_codes_use_the_float_scale(bool vector)
    {
        var x = new float[32];
        x[0] = MathF.ScaleB(8f, -30); // d = -2^-30 -> fp16 -0
        x[1] = MathF.ScaleB(-4f, -30); // 4 + 8.5 -> 12
        byte[] y = Quantize(x, vector);
        Assert.Equal(0x00, y[0]);
        Assert.Equal(0x80, y[1]);
        Assert.Equal(0x80, y[2]);
        Assert.Equal(0x8C, y[3]);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Subnormal_block_with_an_infinite_inverse_scale_gets_code_0_as_x86_C_does(bool vector)
    {
        var x = new float[32];
        x[0] = 1e-40f;   // max: d = -1.25e-41 (fp16 -0), id = -inf
        x[1] = -1e-40f;  // +inf + 8.5 -> (int8_t) of 0x80000000 = 0 (a saturating conversion would give 15)
        x[17] = 3e-41f;  // -inf -> 0
        byte[] y = Quantize(x, vector);
        Assert.Equal(0x00, y[0]);
        Assert.Equal(0x80, y[1]);
        Assert.All(y[2..], b => Assert.Equal(0x00, b)); // zeros too: 0 * inf is NaN, also 0x80000000
    }

    [Fact]
    public void Vector_path_gives_the_scalar_bytes_on_random_data()
    {
        var rng = new Random(99);
        float[] x = RandomData.Mixed(rng, 32 * 4096);
        Assert.Equal(Quantize(x, false), Quantize(x, true));
    }

    [Fact]
    public void Dequantize_subtracts_8_and_scales()
    {
        var y = new byte[18];
        y[1] = 0x40; // fp16 2.0
        y[2] = 0xF0; // element 0 -> 0, element 16 -> 15
        var back = new float[32];
        Q4_0Kernel.Dequantize(y, back);
        Assert.Equal(-16f, back[0]);
        Assert.Equal(14f, back[16]);
        Assert.Equal(-16f, back[1]); // code 0 in the other bytes
    }
}
