using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Tests.Quantization;

public class Q8_0KernelTests
{
    private static byte[] Quantize(float[] x, bool vector)
    {
        var dst = new byte[x.Length / 32 * 34];
        if (vector) Q8_0Kernel.QuantizeVector(x, dst); else Q8_0Kernel.QuantizeScalar(x, dst);
        return dst;
    }

    public static TheoryData<bool> Paths => new() { false, true };

    [Theory]
    [MemberData(nameof(Paths))]
    public void Zero_block_is_all_zero_bytes(bool vector)
    {
        Assert.All(Quantize(new float[32], vector), b => Assert.Equal(0, b));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Subnormal_block_with_an_infinite_inverse_scale_gets_code_0_as_x86_C_does(bool vector)
    {
        var x = new float[32];
        x[0] = 1e-40f;  // d = amax/127 is subnormal, 1/d = +inf
        x[1] = -1e-40f; // -inf -> (int8_t) gives 0x80000000's low byte, not a saturated -128
        x[2] = 5e-41f;  // +inf -> 0 (a saturating conversion would give 0xFF)
        byte[] y = Quantize(x, vector);
        Assert.All(y[2..], b => Assert.Equal(0, b));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void All_equal_block_gets_scale_one_over_127_and_code_127(bool vector)
    {
        float[] x = Enumerable.Repeat(1f, 32).ToArray();
        byte[] y = Quantize(x, vector);
        Assert.Equal(0x08, y[0]); // fp16(1/127) = 0x2008, little-endian
        Assert.Equal(0x20, y[1]);
        Assert.All(y[2..], b => Assert.Equal(127, b));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Halves_round_away_from_zero_as_roundf(bool vector)
    {
        var x = new float[32];
        x[0] = 127f; // d = 1, id = 1
        x[1] = 2.5f; x[2] = -2.5f; x[3] = 0.5f; x[4] = -0.5f; x[5] = 1.5f; x[6] = -127f; x[7] = 0.49999997f;
        byte[] y = Quantize(x, vector);
        Assert.Equal(new byte[] { 0x00, 0x3C, 127, 3, 0xFD, 1, 0xFF, 2, 0x81, 0 }, y[..10]);
        Assert.All(y[10..], b => Assert.Equal(0, b));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Tiny_scale_underflows_fp16_to_zero_while_codes_use_the_float_scale(bool vector)
    {
        var x = new float[32];
        x[3] = -MathF.ScaleB(127f, -30); // d = 2^-30: below half the smallest fp16 subnormal; id = 2^30 exactly
        x[4] = MathF.ScaleB(63.5f, -30);
        byte[] y = Quantize(x, vector);
        Assert.Equal(0, y[0]);
        Assert.Equal(0, y[1]);
        Assert.Equal(unchecked((byte)-127), y[2 + 3]);
        Assert.Equal(64, y[2 + 4]); // 63.5 rounds away from zero
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Subnormal_and_overflowing_scales(bool vector)
    {
        var x = new float[64];
        x[0] = 0.001f;   // d = 7.874e-6 -> fp16 subnormal 132 * 2^-24
        x[32] = 1e30f;   // d = 7.9e27 -> fp16 +inf (as llama.cpp stores it)
        x[33] = -2.5e29f;
        byte[] y = Quantize(x, vector);
        Assert.Equal(0x84, y[0]);
        Assert.Equal(0x00, y[1]);
        Assert.Equal(127, y[2]);
        Assert.Equal(0x00, y[34]);
        Assert.Equal(0x7C, y[35]);
        Assert.Equal(127, y[36]);
        Assert.Equal(unchecked((byte)-32), y[37]); // -31.75
    }

    [Fact]
    public void Vector_path_gives_the_scalar_bytes_on_random_data()
    {
        var rng = new Random(1234);
        float[] x = RandomData.Mixed(rng, 32 * 4096);
        Assert.Equal(Quantize(x, false), Quantize(x, true));
    }

    [Fact]
    public void Dequantize_multiplies_code_by_scale()
    {
        var x = new float[32];
        x[0] = 127f; x[1] = -3f; x[2] = 2.5f;
        byte[] y = Quantize(x, false);
        var back = new float[32];
        Q8_0Kernel.Dequantize(y, back);
        Assert.Equal(127f, back[0]);
        Assert.Equal(-3f, back[1]);
        Assert.Equal(3f, back[2]);
        Assert.Equal(0f, back[31]);
    }
}
