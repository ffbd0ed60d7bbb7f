using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Tests.Quantization;

public class HalfPrecisionTests
{
    [Fact]
    public void Fp16_matches_dotnet_round_to_nearest_even_over_a_sweep_of_all_bit_patterns()
    {
        // 2^32 / 4099 ≈ 1M patterns covering every exponent (normal, subnormal, overflow) and sign.
        int compared = 0;
        for (ulong bits = 0; bits <= uint.MaxValue; bits += 4099)
        {
            float f = BitConverter.UInt32BitsToSingle((uint)bits);
            if (float.IsNaN(f))
                continue;
            Assert.Equal(BitConverter.HalfToUInt16Bits((Half)f), HalfPrecision.ToFp16(f));
            compared++;
        }
        Assert.True(compared > 1_000_000);
    }

    [Theory]
    [InlineData(0f, 0x0000)]
    [InlineData(-0f, 0x8000)]
    [InlineData(1f, 0x3C00)]
    [InlineData(-2f, 0xC000)]
    [InlineData(65504f, 0x7BFF)]        // largest finite
    [InlineData(65519.996f, 0x7BFF)]    // just below the rounding boundary
    [InlineData(65520f, 0x7C00)]        // ties to even: overflows to +inf
    [InlineData(1e30f, 0x7C00)]
    [InlineData(-1e30f, 0xFC00)]
    [InlineData(5.9604645e-8f, 0x0001)] // 2^-24, the smallest subnormal
    [InlineData(2.9802322e-8f, 0x0000)] // 2^-25: a tie, rounds to even (zero)
    [InlineData(8.940697e-8f, 0x0002)]  // 1.5 * 2^-24: a tie, rounds to even (2)
    [InlineData(6.1035156e-5f, 0x0400)] // 2^-14, the smallest normal
    [InlineData(0.0078740157f, 0x2008)] // 1/127 (a Q8_0 scale)
    public void Fp16_known_values(float value, int expected)
    {
        Assert.Equal((ushort)expected, HalfPrecision.ToFp16(value));
    }

    [Fact]
    public void Fp16_nan_is_quiet_and_keeps_the_sign_like_ggml()
    {
        Assert.Equal(0x7E00, HalfPrecision.ToFp16(BitConverter.UInt32BitsToSingle(0x7F800001u)));
        Assert.Equal(0xFE00, HalfPrecision.ToFp16(BitConverter.UInt32BitsToSingle(0xFFC00000u)));
        Assert.Equal(0x7C00, HalfPrecision.ToFp16(float.PositiveInfinity));
    }

    [Fact]
    public void Fp16_to_fp32_is_exact_for_every_pattern()
    {
        for (int h = 0; h <= ushort.MaxValue; h++)
        {
            float f = HalfPrecision.FromFp16((ushort)h);
            if (float.IsNaN(f))
                continue;
            Assert.Equal((ushort)h, HalfPrecision.ToFp16(f));
        }
    }

    [Theory]
    [InlineData(0x3F800000u, 0x3F80)] // 1
    [InlineData(0x3F808000u, 0x3F80)] // tie, even stays
    [InlineData(0x3F818000u, 0x3F82)] // tie, odd rounds up
    [InlineData(0x3F808001u, 0x3F81)] // above the tie
    [InlineData(0x00000001u, 0x0000)] // smallest subnormal rounds to zero, not flushed by rule
    [InlineData(0x00018000u, 0x0002)] // subnormal tie, odd rounds up: kept, not flushed
    [InlineData(0x7F7FFFFFu, 0x7F80)] // max float rounds to +inf
    [InlineData(0x7F800001u, 0x7FC0)] // signalling NaN made quiet
    [InlineData(0xFF800000u, 0xFF80)] // -inf
    public void Bf16_rounds_to_nearest_even_like_ggml(uint bits, int expected)
    {
        Assert.Equal((ushort)expected, HalfPrecision.ToBf16(BitConverter.UInt32BitsToSingle(bits)));
    }

    [Fact]
    public void Bf16_to_fp32_puts_the_bits_on_top()
    {
        Assert.Equal(1f, HalfPrecision.FromBf16(0x3F80));
        Assert.Equal(-2f, HalfPrecision.FromBf16(0xC000));
        Assert.Equal(BitConverter.UInt32BitsToSingle(0x00010000u), HalfPrecision.FromBf16(0x0001));
    }
}
