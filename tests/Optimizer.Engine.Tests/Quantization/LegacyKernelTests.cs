using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Tests.Quantization;

/// <summary>Q4_1, Q5_0 and Q5_1 (blocks of 32): scalar and vector paths, the reference's choices at ties and zeros.</summary>
public class LegacyKernelTests
{
    public static TheoryData<GgmlType, bool> TypesAndPaths()
    {
        var data = new TheoryData<GgmlType, bool>();
        foreach (GgmlType type in new[] { GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1 })
        {
            data.Add(type, false);
            data.Add(type, true);
        }
        return data;
    }

    public static TheoryData<bool> Paths => new() { false, true };

    private static byte[] Quantize(GgmlType type, float[] x, bool vector)
    {
        var dst = new byte[GgmlTypes.ByteCount(type, x.Length)];
        switch (type)
        {
            case GgmlType.Q4_1:
                if (vector) Q4_1Kernel.QuantizeVector(x, dst); else Q4_1Kernel.QuantizeScalar(x, dst);
                break;
            case GgmlType.Q5_0:
                if (vector) Q5_0Kernel.QuantizeVector(x, dst); else Q5_0Kernel.QuantizeScalar(x, dst);
                break;
            default:
                if (vector) Q5_1Kernel.QuantizeVector(x, dst); else Q5_1Kernel.QuantizeScalar(x, dst);
                break;
        }
        return dst;
    }

    private static float[] Dequantize(GgmlType type, byte[] y)
    {
        var back = new float[y.Length / GgmlTypes.BlockBytes(type) * 32];
        GgmlQuantizer.Dequantize(type, y, back);
        return back;
    }

    [Theory]
    [InlineData(GgmlType.Q4_1)]
    [InlineData(GgmlType.Q5_0)]
    [InlineData(GgmlType.Q5_1)]
    public void Vector_path_gives_the_scalar_bytes_on_random_data(GgmlType type)
    {
        float[] x = RandomData.Mixed(new Random(41), 32 * 4096);
        var rng = new Random(42);
        for (int b = 0; b < 4096; b += 13)
        {
            Span<float> block = x.AsSpan(32 * b, 32);
            for (int i = 0; i < 32; i++)
                block[i] = b % 2 == 0 ? RandomData.Gaussian(rng) * 1e-39f : rng.Next(3) == 0 ? -0f : 0f; // 1/d = inf; signed zeros
        }
        Assert.Equal(Quantize(type, x, false), Quantize(type, x, true));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Q4_1_keeps_the_first_zero_as_min_with_its_sign(bool vector)
    {
        var x = new float[32];
        x[0] = -0f; // the scan keeps the first of equal minima: m = fp16(-0)
        byte[] y = Quantize(GgmlType.Q4_1, x, vector);
        Assert.Equal(new byte[] { 0, 0, 0x00, 0x80 }, y[..4]);
        Assert.All(y[4..], b => Assert.Equal(0, b));

        x[0] = 0f;
        x[1] = -0f;
        y = Quantize(GgmlType.Q4_1, x, vector);
        Assert.Equal(new byte[] { 0, 0, 0, 0 }, y[..4]);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Q4_1_grid_round_trips_exactly(bool vector)
    {
        var x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = (j * 7 % 16) * 0.25f - 2f; // min -2, max 1.75: d = 0.25, m = -2
        byte[] y = Quantize(GgmlType.Q4_1, x, vector);
        Assert.Equal(new byte[] { 0x00, 0x34, 0x00, 0xC0 }, y[..4]); // fp16 0.25, fp16 -2
        Assert.Equal(x, Dequantize(GgmlType.Q4_1, y));
    }

    [Theory]
    [MemberData(nameof(TypesAndPaths))]
    public void Subnormal_block_with_an_infinite_inverse_scale_gets_code_0(GgmlType type, bool vector)
    {
        var x = new float[32];
        x[3] = 1e-40f;
        x[9] = -2e-40f;
        x[20] = 5e-41f;
        byte[] y = Quantize(type, x, vector);
        int codes = type == GgmlType.Q5_0 ? 2 : 4;
        if (type == GgmlType.Q5_0)
            Assert.All(y[codes..], b => Assert.Equal(0, b)); // also no fifth bits: 0x80000000 has bit 4 clear
        else
            Assert.All(y[(codes + (type == GgmlType.Q5_1 ? 4 : 0))..], b => Assert.Equal(0, b));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Q5_0_zero_block_is_negative_zero_scale_and_code_16(bool vector)
    {
        byte[] y = Quantize(GgmlType.Q5_0, new float[32], vector);
        Assert.Equal(new byte[] { 0x00, 0x80, 0xFF, 0xFF, 0xFF, 0xFF }, y[..6]); // d = 0/-16 = -0; every fifth bit set
        Assert.All(y[6..], b => Assert.Equal(0, b));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Q5_0_first_of_equal_magnitudes_sets_the_sign_and_codes_clamp_at_31(bool vector)
    {
        var x = new float[32];
        x[0] = 16f;  // max = 16: d = -1
        x[1] = -16f; // 16 + 16.5 = 32.5 -> 32 -> MIN(31)
        x[2] = 3f;   // -3 + 16.5 -> 13
        byte[] y = Quantize(GgmlType.Q5_0, x, vector);
        Assert.Equal(new byte[] { 0x00, 0xBC }, y[..2]); // fp16 -1
        float[] back = Dequantize(GgmlType.Q5_0, y);
        Assert.Equal(16f, back[0]);
        Assert.Equal(-15f, back[1]);
        Assert.Equal(3f, back[2]);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Q5_0_integers_round_trip_exactly(bool vector)
    {
        var x = new float[32];
        x[0] = -16f; // d = 1
        for (int j = 1; j < 32; j++) x[j] = j - 16;
        Assert.Equal(x, Dequantize(GgmlType.Q5_0, Quantize(GgmlType.Q5_0, x, vector)));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Q5_1_grid_round_trips_exactly(bool vector)
    {
        var x = new float[32];
        for (int j = 0; j < 32; j++) x[j] = (j * 11 % 32) * 0.5f - 4f; // min -4, max 11.5: d = 0.5
        byte[] y = Quantize(GgmlType.Q5_1, x, vector);
        Assert.Equal(new byte[] { 0x00, 0x38, 0x00, 0xC4 }, y[..4]); // fp16 0.5, fp16 -4
        Assert.Equal(x, Dequantize(GgmlType.Q5_1, y));
    }

    [Fact]
    public void Q5_0_and_Q5_1_dequantize_take_the_fifth_bit_from_qh()
    {
        var y = new byte[22];
        y[1] = 0x3C;  // d = 1
        y[2] = 0x01;  // qh bit 0: element 0
        y[4] = 0x01;  // qh bit 16: element 16
        y[6] = 0x21;  // element 0 low nibble 1, element 16 low nibble 2
        float[] back = Dequantize(GgmlType.Q5_0, y);
        Assert.Equal(1f, back[0]);    // (1 | 16) - 16
        Assert.Equal(2f, back[16]);   // (2 | 16) - 16
        Assert.Equal(-16f, back[1]);  // code 0

        var z = new byte[24];
        z[1] = 0x3C;  // d = 1
        z[3] = 0xBC;  // m = -1
        z[4] = 0x01;
        z[8] = 0x0F;
        back = Dequantize(GgmlType.Q5_1, z);
        Assert.Equal(30f, back[0]);   // (15 | 16)·1 − 1
        Assert.Equal(-1f, back[16]);
    }
}
