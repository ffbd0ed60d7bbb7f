using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Tests.Quantization;

public class KQuantTests
{
    [Theory]
    [InlineData(0.5f, 0)]   // ties to even
    [InlineData(1.5f, 2)]
    [InlineData(2.5f, 2)]
    [InlineData(-0.5f, 0)]
    [InlineData(-1.5f, -2)]
    [InlineData(3.49f, 3)]
    [InlineData(-63.7f, -64)]
    [InlineData(4194303f, 4194303)]
    public void NearestInt_rounds_half_to_even(float value, int expected)
    {
        Assert.Equal(expected, KQuantMath.NearestInt(value));
    }

    [Fact]
    public void GetScaleMinK4_unpacks_what_the_q4_k_packing_stores()
    {
        // Pack 8 (scale, min) pairs of 6 bits the way quantize_row_q4_K_ref does, then read them back.
        byte[] ls = { 0, 63, 17, 32, 5, 48, 63, 1 };
        byte[] lm = { 63, 0, 40, 9, 33, 2, 62, 31 };
        var q = new byte[12];
        for (int j = 0; j < 8; j++)
        {
            if (j < 4) { q[j] = ls[j]; q[j + 4] = lm[j]; }
            else
            {
                q[j + 4] = (byte)((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
                q[j - 4] |= (byte)((ls[j] >> 4) << 6);
                q[j] |= (byte)((lm[j] >> 4) << 6);
            }
        }
        for (int j = 0; j < 8; j++)
        {
            KQuantMath.GetScaleMinK4(j, q, out byte d, out byte m);
            Assert.Equal(ls[j], d);
            Assert.Equal(lm[j], m);
        }
    }

    [Theory]
    [InlineData(GgmlType.Q2_K)]
    [InlineData(GgmlType.Q3_K)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    [InlineData(GgmlType.Q6_K)]
    public void Zero_super_block_is_all_zero_bytes(GgmlType type)
    {
        var y = new byte[GgmlTypes.BlockBytes(type)];
        y.AsSpan().Fill(0xAA);
        GgmlQuantizer.Quantize(type, new float[256], y);
        Assert.All(y, b => Assert.Equal(0, b));
    }

    [Fact]
    public void Q6_K_group_below_eps_is_zero_but_others_are_kept()
    {
        var x = new float[256];
        for (int i = 16; i < 32; i++) x[i] = i - 24; // -8..7: exactly representable with scale 0.25 * 32
        var y = new byte[210];
        GgmlQuantizer.Quantize(GgmlType.Q6_K, x, y);
        var back = new float[256];
        GgmlQuantizer.Dequantize(GgmlType.Q6_K, y, back);
        for (int i = 0; i < 256; i++)
            Assert.Equal(x[i], back[i], 0.02f);
        Assert.Equal(0, (sbyte)y[192]); // scale of the all-zero first group
        Assert.NotEqual(0, (sbyte)y[193]);
    }

    [Fact]
    public void Q4_K_all_equal_positive_block_maps_to_the_top_code_with_zero_min()
    {
        float[] x = Enumerable.Repeat(0.3f, 256).ToArray();
        var y = new byte[144];
        GgmlQuantizer.Quantize(GgmlType.Q4_K, x, y);
        Assert.Equal(0, BitConverter.ToUInt16(y, 2)); // dmin = 0: min clamps to 0 for positive data
        Assert.All(y[16..], b => Assert.Equal(0xFF, b)); // every code 15
        var back = new float[256];
        GgmlQuantizer.Dequantize(GgmlType.Q4_K, y, back);
        Assert.All(back, v => Assert.Equal(0.3f, v, 0.002f));
    }

    [Fact]
    public void Q4_K_keeps_negative_offsets_through_the_min()
    {
        var rng = new Random(5);
        var x = new float[256];
        for (int i = 0; i < 256; i++) x[i] = -2f + 0.1f * RandomData.Gaussian(rng);
        var y = new byte[144];
        GgmlQuantizer.Quantize(GgmlType.Q4_K, x, y);
        var back = new float[256];
        GgmlQuantizer.Dequantize(GgmlType.Q4_K, y, back);
        Assert.True(QuantizationError.RelativeRmse(x, back) < 0.02);
    }

    public static void QuantizeK(GgmlType type, float[] x, byte[] dst, bool lanes)
    {
        switch (type)
        {
            case GgmlType.Q2_K: Q2_KKernel.Quantize(x, dst, lanes); break;
            case GgmlType.Q3_K: Q3_KKernel.Quantize(x, dst, lanes); break;
            case GgmlType.Q4_K: Q4_KKernel.Quantize(x, dst, lanes); break;
            case GgmlType.Q5_K: Q5_KKernel.Quantize(x, dst, lanes); break;
            default: Q6_KKernel.Quantize(x, dst, lanes); break;
        }
    }

    [Theory]
    [InlineData(GgmlType.Q2_K)]
    [InlineData(GgmlType.Q3_K)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    [InlineData(GgmlType.Q6_K)]
    public void Lane_parallel_fits_give_the_scalar_bytes(GgmlType type)
    {
        float[] x = RandomData.Mixed(new Random(17), 256 * 96);
        var rng = new Random(18);
        for (int i = 0; i < 256 * 4; i++) x[256 * 90 + i] = RandomData.Gaussian(rng) * 1e-39f; // subnormal super-blocks
        var lanes = new byte[GgmlTypes.ByteCount(type, x.Length)];
        var scalar = new byte[lanes.Length];
        QuantizeK(type, x, lanes, lanes: true);
        QuantizeK(type, x, scalar, lanes: false);
        Assert.Equal(scalar, lanes);
    }

    [Fact]
    public void Q3_K_constant_sub_blocks_round_trip_exactly_through_signed_scales()
    {
        // Each sub-block fits to code −4 with scale x/−4 (−0.25 for 1, 0.125 for −0.5); the 6-bit scales −32 and 16 of
        // d = 1/128 hold those exactly, so no code needs the third (hmask) bit and every value comes back.
        var x = new float[256];
        for (int j = 0; j < 16; j++)
            x.AsSpan(16 * j, 16).Fill(j % 2 == 0 ? 1f : -0.5f);
        var y = new byte[110];
        GgmlQuantizer.Quantize(GgmlType.Q3_K, x, y);
        Assert.All(y[..96], b => Assert.Equal(0, b)); // hmask and 2-bit codes
        Assert.Equal(0x2000, BitConverter.ToUInt16(y, 108)); // fp16(1/128)
        var back = new float[256];
        GgmlQuantizer.Dequantize(GgmlType.Q3_K, y, back);
        Assert.Equal(x, back);
    }

    [Fact]
    public void Q5_K_keeps_a_negative_offset_through_the_min_and_uses_the_fifth_bit()
    {
        var rng = new Random(6);
        var x = new float[256];
        for (int i = 0; i < 256; i++) x[i] = -2f + 0.1f * RandomData.Gaussian(rng);
        var y = new byte[176];
        GgmlQuantizer.Quantize(GgmlType.Q5_K, x, y);
        var back = new float[256];
        GgmlQuantizer.Dequantize(GgmlType.Q5_K, y, back);
        Assert.True(QuantizationError.RelativeRmse(x, back) < 0.005);
        Assert.Contains(y[16..48], b => b != 0);
    }

    [Fact]
    public void Q2_K_all_equal_negative_block_is_all_min()
    {
        float[] x = Enumerable.Repeat(-0.5f, 256).ToArray();
        var y = new byte[84];
        GgmlQuantizer.Quantize(GgmlType.Q2_K, x, y);
        var back = new float[256];
        GgmlQuantizer.Dequantize(GgmlType.Q2_K, y, back);
        Assert.All(back, v => Assert.Equal(-0.5f, v, 0.001f));
        Assert.All(y[16..80], b => Assert.Equal(0, b)); // every code 0: the value is the min
    }

    [Theory]
    [InlineData(float.NaN, int.MinValue)]
    [InlineData(float.PositiveInfinity, int.MinValue)]
    [InlineData(float.NegativeInfinity, int.MinValue)]
    [InlineData(2147483648f, int.MinValue)]
    [InlineData(-2147483648f, int.MinValue)]
    [InlineData(-1.9f, -1)]
    [InlineData(16.99f, 16)]
    [InlineData(-0f, 0)]
    public void Truncate_is_x86_cvttss2si(float value, int expected)
    {
        Assert.Equal(expected, KQuantMath.Truncate(value));
    }

    [Fact]
    public void MakeQpQuants_is_zero_below_eps_and_fits_exact_multiples()
    {
        var l = new byte[4];
        Assert.Equal(0f, KQuantMath.MakeQpQuants(63, new[] { 1e-16f, 0f, 5e-16f, 0f }, l, new[] { 1f, 1f, 1f, 1f }));
        Assert.All(l, b => Assert.Equal(0, b));

        float scale = KQuantMath.MakeQpQuants(63, new[] { 0.5f, 31.5f, 10f, 0f }, l, new[] { 1f, 1f, 1f, 1f });
        Assert.Equal(0.5f, scale);
        Assert.Equal(new byte[] { 1, 63, 20, 0 }, l);
    }

    [Fact]
    public void MakeQpQuants_stores_negative_codes_wrapped_as_C_uint8()
    {
        var l = new byte[2];
        KQuantMath.MakeQpQuants(15, new[] { -1f, 2f }, l, new[] { 1f, 1f });
        Assert.True(l[0] > 15, $"code {l[0]}"); // nearest_int(-7.5) = -8 stored in a uint8_t
    }
}
