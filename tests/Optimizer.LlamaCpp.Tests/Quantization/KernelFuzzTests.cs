using Optimizer.Engine.Quantization;

namespace Optimizer.LlamaCpp.Tests.Quantization;

/// <summary>
/// GgmlQuantizer against ggml's own <c>ggml_quantize_chunk</c> on data chosen to reach every branch: Gaussian rows,
/// exact ties (halves), equal magnitudes of both signs, constant and zero blocks, scales that underflow or overflow fp16,
/// and values at the rounding boundaries of the F16/BF16 conversions.
/// </summary>
public sealed class KernelFuzzTests
{
    public static TheoryData<GgmlType> Types => new() { GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.F16, GgmlType.BF16 };

    [Theory]
    [MemberData(nameof(Types))]
    public void Bytes_equal_ggml_on_every_kind_of_block(GgmlType type)
    {
        const int rows = 96, cols = 512;
        float[] x = Blocks(new Random(20261128 + (int)type), rows * cols);
        long bytes = GgmlQuantizer.RowBytes(type, cols) * rows;
        byte[] expected = GgmlNative.Quantize((int)type, x, rows, cols, bytes);
        byte[] actual = GgmlQuantizer.QuantizeMatrix(type, x, rows, cols);
        int at = expected.AsSpan().CommonPrefixLength(actual);
        Assert.True(at == expected.Length,
            $"{GgmlTypes.Name(type)}: first difference at byte {at} (block {at / GgmlTypes.BlockBytes(type)}): ggml {(at < expected.Length ? expected[at] : -1)}, ours {(at < actual.Length ? actual[at] : -1)}");
    }

    private static float[] Blocks(Random rng, int n)
    {
        var x = new float[n];
        for (int b = 0; b < n / 32; b++)
        {
            Span<float> block = x.AsSpan(b * 32, 32);
            switch (b % 10)
            {
                case 0: for (int i = 0; i < 32; i++) block[i] = Gaussian(rng) * 0.02f; break;
                case 1: for (int i = 0; i < 32; i++) block[i] = rng.Next(-16, 17) * 0.5f; break;
                case 2: block.Fill(rng.Next(2) == 0 ? 0.75f : -0.75f); break;
                case 3: break;
                case 4: for (int i = 0; i < 32; i++) block[i] = Gaussian(rng) * 1e-7f; break;
                case 5:
                    for (int i = 0; i < 32; i++) block[i] = Gaussian(rng);
                    block[rng.Next(32)] = 40f * (rng.Next(2) == 0 ? 1 : -1);
                    break;
                case 6:
                    for (int i = 0; i < 32; i++) block[i] = Gaussian(rng);
                    block[rng.Next(32)] = 3f;
                    block[rng.Next(32)] = -3f;
                    break;
                case 7: for (int i = 0; i < 32; i++) block[i] = Gaussian(rng) * 1e4f; break;
                case 8: // fp16 and bf16 rounding boundaries: mantissas ending in the halfway patterns
                    for (int i = 0; i < 32; i++)
                        block[i] = BitConverter.UInt32BitsToSingle((uint)rng.Next(0x33000000, 0x47800000) & 0xFFFFF000u | (i % 2 == 0 ? 0x1000u : 0x8000u));
                    break;
                default: for (int i = 0; i < 32; i++) block[i] = Gaussian(rng) * 2e-5f + 1e-4f; break; // offset: K-quant mins
            }
        }
        return x;
    }

    private static float Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
