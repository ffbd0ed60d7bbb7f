using System.Runtime.InteropServices;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Tests.HfExport;

/// <summary>The int8 per-channel and int4 group-wise kernels: bytes on hand-computed rows, error bounds, errors.</summary>
public sealed class IntKernelTests
{
    [Fact]
    public void Int8RowsGiveTheHandComputedCodesAndScales()
    {
        // Row 0: max 127 -> scale 1 exactly; ties round to even (0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -63.5 -> -64).
        // Row 1: max 1 -> 1/127 rounds to F16 0x2008 = 0.0078735351562; 1/s = 127.0078 -> 127, -0.5/s = -63.504 -> -64,
        //        0.25/s = 31.75 -> 32.
        float[] values = { 127f, -63.5f, 0.5f, 1.5f, -2.5f, 2.4f, -127f, 0f, 1f, -0.5f, 0.25f, 0f, 0f, 0f, 0f, 0f };
        var codes = new sbyte[16];
        var scales = new float[2];
        Int8PerChannel.Quantize(values, 2, 8, DType.F16, codes, scales);

        Assert.Equal(new byte[] { 0x7F, 0xC0, 0x00, 0x02, 0xFE, 0x02, 0x81, 0x00, 0x7F, 0xC0, 0x20, 0, 0, 0, 0, 0 },
            MemoryMarshal.AsBytes(codes.AsSpan()).ToArray());
        Assert.Equal(1f, scales[0]);
        Assert.Equal((float)BitConverter.UInt16BitsToHalf(0x2008), scales[1]);
        Assert.Equal(0.0078735351562f, scales[1], 1e-12f);

        var restored = new float[16];
        Int8PerChannel.Dequantize(codes, scales, 2, 8, restored);
        Assert.Equal(new[] { 127f, -64f, 0f, 2f, -2f, 2f, -127f, 0f }, restored[..8]);
        Assert.Equal(127 * scales[1], restored[8]);
    }

    [Fact]
    public void Int8WithF32ScalesKeepsTheExactScale()
    {
        float[] values = { 1f, -0.5f, 0.25f, 0f };
        var codes = new sbyte[4];
        var scales = new float[1];
        Int8PerChannel.Quantize(values, 1, 4, DType.F32, codes, scales);
        Assert.Equal(1f / 127f, scales[0]);
        Assert.Equal(new sbyte[] { 127, -64, 32, 0 }, codes);
    }

    [Fact]
    public void Int4RowsGiveTheHandComputedNibbles()
    {
        // Group size 4. Group 0: max 7 -> scale 1: codes 7, -4 (tie -3.5 -> -4), 0, 2 -> nibbles 15, 4, 8, 10.
        // Group 1: max 0.7 -> 0.1 in F16 = 0x2E66 = 0.0999755859375: 0.7/s = 7.002 -> 7, -7, 0.35/s = 3.5009 -> 4, 0
        //          -> nibbles 15, 1, 12, 8. Low nibble = even column: bytes 0x4F 0xA8 0x1F 0x8C.
        float[] values = { 7f, -3.5f, 0.5f, 1.5f, 0.7f, -0.7f, 0.35f, 0f };
        var packed = new byte[4];
        var scales = new float[2];
        Int4Grouped.Quantize(values, 1, 8, 4, DType.F16, packed, scales);

        Assert.Equal(new byte[] { 0x4F, 0xA8, 0x1F, 0x8C }, packed);
        Assert.Equal(1f, scales[0]);
        Assert.Equal((float)BitConverter.UInt16BitsToHalf(0x2E66), scales[1]);

        var restored = new float[8];
        Int4Grouped.Dequantize(packed, scales, 1, 8, 4, restored);
        Assert.Equal(new[] { 7f, -4f, 0f, 2f }, restored[..4]);
        Assert.Equal(new[] { 7 * scales[1], -7 * scales[1], 4 * scales[1], 0f }, restored[4..]);
    }

    [Fact]
    public void Int4LastGroupMayBeShorterAndNibbleZeroReadsAsMinusEight()
    {
        // 6 columns in groups of 4: the second group holds columns 4-5 only.
        float[] values = { 1f, 2f, 3f, 7f, -14f, 2f };
        var packed = new byte[3];
        var scales = new float[2];
        Assert.Equal(2, Int4Grouped.GroupCount(6, 4));
        Int4Grouped.Quantize(values, 1, 6, 4, DType.F32, packed, scales);
        Assert.Equal(new[] { 1f, 2f }, scales);
        Assert.Equal(new byte[] { 0xA9, 0xFB, 0x91 }, packed); // codes 1,2 | 3,7 | -7,1

        var restored = new float[6];
        Int4Grouped.Dequantize(new byte[] { 0x00, 0x88, 0x80 }, scales, 1, 6, 4, restored);
        Assert.Equal(new[] { -8f, -8f, 0f, 0f, -16f, 0f }, restored);
    }

    [Fact]
    public void ZeroRowsGetScaleZeroAndDequantizeToZero()
    {
        var values = new float[8];
        var codes = new sbyte[8];
        var scales = new float[1] { 5f };
        Int8PerChannel.Quantize(values, 1, 8, DType.F16, codes, scales);
        Assert.Equal(0f, scales[0]);
        Assert.All(codes, c => Assert.Equal(0, c));
    }

    [Theory]
    [InlineData(8, 0)]
    [InlineData(4, 32)]
    [InlineData(4, 128)]
    public void EveryValueIsWithinHalfAStepAndTheRelativeRmseIsSmall(int bits, int group)
    {
        const int rows = 64, cols = 160;
        float[] values = Gaussian(rows * cols, seed: bits + group);
        var restored = new float[values.Length];
        float[] scales;
        if (bits == 8)
        {
            var codes = new sbyte[values.Length];
            scales = new float[rows];
            Int8PerChannel.Quantize(values, rows, cols, DType.F16, codes, scales);
            Int8PerChannel.Dequantize(codes, scales, rows, cols, restored);
        }
        else
        {
            var packed = new byte[values.Length / 2];
            scales = new float[rows * Int4Grouped.GroupCount(cols, group)];
            Int4Grouped.Quantize(values, rows, cols, group, DType.F16, packed, scales);
            Int4Grouped.Dequantize(packed, scales, rows, cols, group, restored);
        }
        int groups = bits == 8 ? 1 : (int)Int4Grouped.GroupCount(cols, group);
        int width = bits == 8 ? cols : group;
        double error = 0, energy = 0;
        for (int i = 0; i < values.Length; i++)
        {
            float scale = scales[i / cols * groups + i % cols / width];
            Assert.True(Math.Abs(values[i] - restored[i]) <= scale / 2 * 1.0001f, $"value {i}: {values[i]} -> {restored[i]}, scale {scale}");
            error += Math.Pow(values[i] - restored[i], 2);
            energy += (double)values[i] * values[i];
        }
        double relative = Math.Sqrt(error / energy);
        double bound = bits == 8 ? 0.012 : group == 32 ? 0.13 : 0.17;
        Assert.InRange(relative, bits == 8 ? 0.001 : 0.05, bound);
    }

    [Fact]
    public void ParallelRowsGiveTheSameBytesAsOneRowAtATime()
    {
        const int rows = 300, cols = 512;
        float[] values = Gaussian(rows * cols, seed: 11);
        var codes = new sbyte[values.Length];
        var scales = new float[rows];
        Int8PerChannel.Quantize(values, rows, cols, DType.F16, codes, scales);
        var packed = new byte[values.Length / 2];
        var groupScales = new float[rows * 4];
        Int4Grouped.Quantize(values, rows, cols, 128, DType.F16, packed, groupScales);
        for (int r = 0; r < rows; r++)
        {
            var rowCodes = new sbyte[cols];
            var rowScale = new float[1];
            Int8PerChannel.Quantize(values.AsSpan(r * cols, cols), 1, cols, DType.F16, rowCodes, rowScale);
            Assert.Equal(rowCodes, codes.AsSpan(r * cols, cols).ToArray());
            Assert.Equal(rowScale[0], scales[r]);
            var rowPacked = new byte[cols / 2];
            var rowGroups = new float[4];
            Int4Grouped.Quantize(values.AsSpan(r * cols, cols), 1, cols, 128, DType.F16, rowPacked, rowGroups);
            Assert.Equal(rowPacked, packed.AsSpan(r * cols / 2, cols / 2).ToArray());
            Assert.Equal(rowGroups, groupScales.AsSpan(r * 4, 4).ToArray());
        }
        var onlyScales = new float[rows];
        Int8PerChannel.ComputeScales(values, rows, cols, DType.F16, onlyScales);
        Assert.Equal(scales, onlyScales);
        var onlyGroupScales = new float[rows * 4];
        Int4Grouped.ComputeScales(values, rows, cols, 128, DType.F16, onlyGroupScales);
        Assert.Equal(groupScales, onlyGroupScales);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void NonFiniteValuesAreRefusedNamingTheFirstRow(float bad)
    {
        float[] values = Gaussian(400 * 128, seed: 2);
        values[3 * 128 + 17] = bad;
        values[250 * 128 + 1] = bad;
        var ex = Assert.Throws<OptimizerException>(() => Int8PerChannel.Quantize(values, 400, 128, DType.F16, new sbyte[values.Length], new float[400]));
        Assert.Equal(ErrorCodes.IntQuantNonFinite, ex.Code);
        Assert.Contains("Row 3 ", ex.Message);
        ex = Assert.Throws<OptimizerException>(() => Int4Grouped.Quantize(values, 400, 128, 32, DType.F16, new byte[values.Length / 2], new float[400 * 4]));
        Assert.Equal(ErrorCodes.IntQuantNonFinite, ex.Code);
    }

    [Fact]
    public void ScalesBeyondHalfNeedF32Scales()
    {
        float[] values = { 1e7f, 1f, -2f, 3f };
        var ex = Assert.Throws<OptimizerException>(() => Int8PerChannel.Quantize(values, 1, 4, DType.F16, new sbyte[4], new float[1]));
        Assert.Equal(ErrorCodes.IntQuantScaleOverflow, ex.Code);
        var codes = new sbyte[4];
        var scales = new float[1];
        Int8PerChannel.Quantize(values, 1, 4, DType.F32, codes, scales);
        Assert.Equal(1e7f / 127f, scales[0]);
        Assert.Equal(127, codes[0]);
    }

    [Fact]
    public void Int4NeedsAnEvenWidth()
    {
        var ex = Assert.Throws<OptimizerException>(() => Int4Grouped.Quantize(new float[6], 2, 3, 32, DType.F16, new byte[3], new float[2]));
        Assert.Equal(ErrorCodes.IntQuantShapeUnsupported, ex.Code);
    }

    [Fact]
    public void WrongBufferSizesAreArgumentErrors()
    {
        Assert.Throws<ArgumentException>(() => Int8PerChannel.Quantize(new float[8], 2, 4, DType.F16, new sbyte[7], new float[2]));
        Assert.Throws<ArgumentException>(() => Int8PerChannel.Quantize(new float[8], 2, 4, DType.F16, new sbyte[8], new float[1]));
        Assert.Throws<ArgumentException>(() => Int4Grouped.Quantize(new float[8], 2, 4, 2, DType.F16, new byte[4], new float[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Int8PerChannel.Quantize(new float[8], 2, 4, DType.BF16, new sbyte[8], new float[2]));
    }

    internal static float[] Gaussian(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            values[i] = (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return values;
    }
}
