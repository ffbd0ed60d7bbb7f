using System.Buffers.Binary;
using Optimizer.Engine.Quantization;

namespace Optimizer.LlamaCpp.Tests.Quantization;

/// <summary>
/// GgmlQuantizer against ggml's own <c>ggml_quantize_chunk</c> (with and without <c>quant_weights</c>) and
/// <c>dequantize_row_*</c> on data chosen to reach every branch: Gaussian rows, exact ties (halves, quarter grids),
/// equal magnitudes of both signs, constant, zero and signed-zero blocks, scales that underflow or overflow fp16,
/// subnormal blocks whose inverse scale is infinite, blocks below the k-quants' 1e-15 cut-off, huge blocks, all-positive
/// blocks, values at the rounding boundaries of the F16/BF16 conversions; importance with zero, tiny, huge and uniform
/// stretches, all zero, and all one.
/// </summary>
public sealed class KernelFuzzTests
{
    private const int Rows = 96;

    public static TheoryData<GgmlType> Types => new()
    {
        GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.F16, GgmlType.BF16,
    };

    /// <summary>Types × importance profiles for the imatrix path (Q8_0 included: ggml ignores its imatrix).</summary>
    public static TheoryData<GgmlType, string> WeightedCases()
    {
        var data = new TheoryData<GgmlType, string>();
        foreach (GgmlType type in new[]
                 {
                     GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K,
                     GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_0,
                 })
        {
            foreach (string profile in new[] { "mixed", "zero", "one" })
                data.Add(type, profile);
        }
        return data;
    }

    public static TheoryData<GgmlType> NewTypes => new()
    {
        GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q5_K,
    };

    [Theory]
    [MemberData(nameof(Types))]
    public void Bytes_equal_ggml_on_every_kind_of_block(GgmlType type)
    {
        int cols = Columns(type);
        float[] x = Blocks(new Random(20261128 + (int)type), Rows, cols);
        long bytes = GgmlQuantizer.RowBytes(type, cols) * Rows;
        byte[] expected = GgmlNative.Quantize((int)type, x, Rows, cols, bytes);
        byte[] actual = GgmlQuantizer.QuantizeMatrix(type, x, Rows, cols);
        AssertSameBytes(type, "no imatrix", expected, actual, x, cols);
    }

    [Theory]
    [MemberData(nameof(WeightedCases))]
    public void Bytes_equal_ggml_with_an_importance_matrix(GgmlType type, string profile)
    {
        int cols = Columns(type);
        var rng = new Random(7741 + 31 * (int)type + profile.Length);
        float[] x = Blocks(rng, Rows, cols);
        float[] importance = Importance(rng, cols, profile);
        long bytes = GgmlQuantizer.RowBytes(type, cols) * Rows;
        byte[] expected = GgmlNative.Quantize((int)type, x, Rows, cols, bytes, importance);
        byte[] actual = GgmlQuantizer.QuantizeMatrix(type, x, Rows, cols, importance);
        AssertSameBytes(type, $"imatrix {profile}", expected, actual, x, cols);

        // One call over all rows (the serial path) gives the same bytes as the parallel matrix.
        var serial = new byte[bytes];
        GgmlQuantizer.Quantize(type, x, serial, importance);
        Assert.Equal(actual, serial);
    }

    [Theory]
    [MemberData(nameof(NewTypes))]
    public void Dequantized_values_equal_ggml_bit_for_bit(GgmlType type)
    {
        int cols = Columns(type);
        var rng = new Random(99 + (int)type);
        float[] x = Blocks(rng, Rows, cols);
        byte[] ours = GgmlQuantizer.QuantizeMatrix(type, x, Rows, cols);
        AssertSameFloats(type, GgmlNative.Dequantize(GgmlTypes.Name(type), ours, x.Length), Dequantize(type, ours, x.Length));

        // Arbitrary block contents (every code and scale pattern), with finite fp16 scales.
        var random = new byte[ours.Length];
        rng.NextBytes(random);
        int blockBytes = GgmlTypes.BlockBytes(type);
        for (int b = 0; b < random.Length; b += blockBytes)
        {
            foreach (int at in HalfOffsets(type))
            {
                ushort h = BinaryPrimitives.ReadUInt16LittleEndian(random.AsSpan(b + at));
                if ((h & 0x7C00) == 0x7C00) BinaryPrimitives.WriteUInt16LittleEndian(random.AsSpan(b + at), (ushort)(h & 0xBFFF));
            }
        }
        AssertSameFloats(type, GgmlNative.Dequantize(GgmlTypes.Name(type), random, x.Length), Dequantize(type, random, x.Length));
    }

    private static float[] Dequantize(GgmlType type, byte[] bytes, int values)
    {
        var dst = new float[values];
        GgmlQuantizer.Dequantize(type, bytes, dst);
        return dst;
    }

    private static int[] HalfOffsets(GgmlType type) => type switch
    {
        GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q5_K => new[] { 0, 2 },
        GgmlType.Q5_0 => new[] { 0 },
        GgmlType.Q2_K => new[] { 80, 82 },
        GgmlType.Q3_K => new[] { 108 },
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Rows of whole super-blocks for k-quants; an odd number of 32-blocks (11) for the others, so lane paths meet a remainder.</summary>
    private static int Columns(GgmlType type) => GgmlTypes.BlockSize(type) == 256 ? 512 : 352;

    private static void AssertSameBytes(GgmlType type, string what, byte[] expected, byte[] actual, float[] x, int cols)
    {
        Assert.Equal(expected.Length, actual.Length);
        int at = expected.AsSpan().CommonPrefixLength(actual);
        if (at == expected.Length)
            return;
        int blockBytes = GgmlTypes.BlockBytes(type), blockSize = GgmlTypes.BlockSize(type);
        int block = at / blockBytes;
        int mismatched = 0;
        for (int b = 0; b < expected.Length / blockBytes; b++)
        {
            if (!expected.AsSpan(b * blockBytes, blockBytes).SequenceEqual(actual.AsSpan(b * blockBytes, blockBytes)))
                mismatched++;
        }
        Assert.Fail($"{GgmlTypes.Name(type)} ({what}): {mismatched} of {expected.Length / blockBytes} blocks differ; first at byte {at} "
                    + $"(block {block}, row {block * blockSize / cols}, byte {at % blockBytes} in it)\n"
                    + $"  ggml: {Convert.ToHexString(expected, block * blockBytes, blockBytes)}\n"
                    + $"  ours: {Convert.ToHexString(actual, block * blockBytes, blockBytes)}\n"
                    + $"  x[0..8]: {string.Join(" ", x.AsSpan(block * blockSize, 8).ToArray())}");
    }

    private static void AssertSameFloats(GgmlType type, float[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{GgmlTypes.Name(type)} dequantized value {i} (block {i / GgmlTypes.BlockSize(type)}): ggml {expected[i]:R}, ours {actual[i]:R}");
        }
    }

    /// <summary>
    /// <paramref name="rows"/> × <paramref name="cols"/> values in blocks of 32 of random kinds; every eighth row has one
    /// kind throughout, so whole super-blocks are zero, constant, subnormal, and so on.
    /// </summary>
    private static float[] Blocks(Random rng, int rows, int cols)
    {
        const int kinds = 17;
        var x = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c += 32)
            {
                int kind = r % 8 == 0 ? r / 8 % kinds : rng.Next(kinds);
                Fill(rng, kind, x.AsSpan(r * cols + c, 32));
            }
        }
        return x;
    }

    private static void Fill(Random rng, int kind, Span<float> block)
    {
        switch (kind)
        {
            case 0: for (int i = 0; i < 32; i++) block[i] = Gaussian(rng) * 0.02f; break;
            case 1: for (int i = 0; i < 32; i++) block[i] = rng.Next(-16, 17) * 0.5f; break; // exact ties
            case 2: block.Fill(rng.Next(2) == 0 ? 0.75f : -0.75f); break;
            case 3: block.Clear(); break;
            case 4: for (int i = 0; i < 32; i++) block[i] = Gaussian(rng) * 1e-7f; break; // fp16-subnormal scales
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
            case 9: for (int i = 0; i < 32; i++) block[i] = Gaussian(rng) * 2e-5f + 1e-4f; break; // offset: k-quant mins
            case 10: for (int i = 0; i < 32; i++) block[i] = Gaussian(rng) * 1e-39f; break; // subnormal: 1/d overflows
            case 11: for (int i = 0; i < 32; i++) block[i] = Gaussian(rng) * 1e-17f; break; // below GROUP_MAX_EPS
            case 12: // signed zeros with a few tiny values
                for (int i = 0; i < 32; i++) block[i] = rng.Next(4) == 0 ? Gaussian(rng) * 1e-30f : rng.Next(2) == 0 ? 0f : -0f;
                break;
            case 13: for (int i = 0; i < 32; i++) block[i] = Gaussian(rng) * 1e12f; break; // products overflow to inf
            case 14: for (int i = 0; i < 32; i++) block[i] = MathF.Abs(Gaussian(rng)) + 0.5f; break; // all positive
            case 15: for (int i = 0; i < 32; i++) block[i] = rng.Next(0, 32) * 0.125f - 1f; break; // quarter-step grid
            default: // a few values, many repeats: codes tie between candidate scales
                for (int i = 0; i < 32; i++) block[i] = (rng.Next(3) - 1) * (1 + rng.Next(2)) * 0.25f;
                break;
        }
    }

    /// <summary>
    /// One importance value per column. "mixed": stretches of 16 columns that are log-normal, zero, partly zero, huge
    /// (1e20), tiny (1e-30), one, or a few exact levels; "zero": all zero; "one": all one.
    /// </summary>
    private static float[] Importance(Random rng, int cols, string profile)
    {
        var w = new float[cols];
        if (profile == "one")
        {
            w.AsSpan().Fill(1f);
            return w;
        }
        if (profile == "zero")
            return w;
        for (int c = 0; c < cols; c += 16)
        {
            Span<float> s = w.AsSpan(c, 16);
            switch (rng.Next(7))
            {
                case 0: for (int i = 0; i < 16; i++) s[i] = MathF.Exp(2 * Gaussian(rng)); break;
                case 1: s.Clear(); break;
                case 2: for (int i = 0; i < 16; i++) s[i] = rng.Next(3) == 0 ? 0f : MathF.Exp(Gaussian(rng)); break;
                case 3: for (int i = 0; i < 16; i++) s[i] = 1e20f * (1 + rng.NextSingle()); break;
                case 4: for (int i = 0; i < 16; i++) s[i] = 1e-30f * (1 + rng.NextSingle()); break;
                case 5: s.Fill(1f); break;
                default: for (int i = 0; i < 16; i++) s[i] = rng.Next(1, 4) * 0.5f; break;
            }
        }
        return w;
    }

    private static float Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
