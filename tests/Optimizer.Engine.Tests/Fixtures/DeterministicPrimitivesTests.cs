using Optimizer.Engine.Formats;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Fixtures;

/// <summary>The seeded generator, the libm-free math and the storage rounding behave as specified.</summary>
public class DeterministicPrimitivesTests
{
    [Fact]
    public void GeneratorMatchesXoshiro256StarStarSeededBySplitMix64()
    {
        // Reference values from a direct transcription of the published xoshiro256** and SplitMix64 algorithms.
        var rng = new DeterministicRandom(42);
        Assert.Equal(0x15780b2e0c2ec716UL, rng.NextUInt64());
        Assert.Equal(0x6104d9866d113a7eUL, rng.NextUInt64());
        Assert.Equal(0xae17533239e499a1UL, rng.NextUInt64());
        var zero = new DeterministicRandom(0);
        Assert.Equal(0x99ec5f36cb75f2b4UL, zero.NextUInt64());
    }

    [Fact]
    public void StreamsAreIndependentAndRepeatable()
    {
        ulong a = DeterministicRandom.ForStream(7, 1).NextUInt64();
        Assert.Equal(a, DeterministicRandom.ForStream(7, 1).NextUInt64());
        Assert.NotEqual(a, DeterministicRandom.ForStream(7, 2).NextUInt64());
        Assert.NotEqual(a, DeterministicRandom.ForStream(8, 1).NextUInt64());
    }

    [Fact]
    public void NormalVariatesHaveUnitMomentsAndUniformsStayInRange()
    {
        var rng = new DeterministicRandom(3);
        const int n = 200_000;
        double sum = 0, sumSq = 0, sum4 = 0;
        for (int i = 0; i < n; i++)
        {
            double z = rng.NextNormal();
            sum += z;
            sumSq += z * z;
            sum4 += z * z * z * z;
        }
        Assert.InRange(sum / n, -0.01, 0.01);
        Assert.InRange(sumSq / n, 0.98, 1.02);
        Assert.InRange(sum4 / n, 2.9, 3.1);
        for (int i = 0; i < 10_000; i++)
        {
            Assert.InRange(rng.NextDouble(), 0.0, 0.9999999999999999);
            Assert.InRange(rng.NextInt(7), 0, 6);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.NextInt(0));
    }

    [Fact]
    public void LogAndExpAgreeWithThePlatformToAFewUlps()
    {
        var rng = new DeterministicRandom(11);
        for (int i = 0; i < 20_000; i++)
        {
            double x = DeterministicMath.Exp(-700 + 1400 * rng.NextDouble());
            Assert.Equal(Math.Log(x), DeterministicMath.Log(x), Math.Max(1e-300, Math.Abs(Math.Log(x)) * 4e-16));
            double y = -700 + 1409 * rng.NextDouble();
            Assert.Equal(Math.Exp(y), DeterministicMath.Exp(y), Math.Exp(y) * 4e-16);
        }
        Assert.Equal(0.0, DeterministicMath.Log(1.0));
        Assert.Equal(1.0, DeterministicMath.Exp(0.0));
        Assert.Equal(Math.Log(5e-324), DeterministicMath.Log(5e-324), 1e-12);
        Assert.Equal(double.NegativeInfinity, DeterministicMath.Log(0));
        Assert.True(double.IsNaN(DeterministicMath.Log(-1)));
        Assert.Equal(double.PositiveInfinity, DeterministicMath.Exp(710));
        Assert.Equal(0.0, DeterministicMath.Exp(-746));
        Assert.Equal(3.0 / (1.0 + Math.Exp(-3.0)), DeterministicMath.Silu(3.0), 1e-15);
    }

    [Fact]
    public void SiluProductSolverInvertsZTimesSiluZ()
    {
        foreach (double target in new[] { 150.0, 1000, 8000 })
        {
            double z = MassiveActivationPlanter.SolveSiluProduct(target);
            Assert.Equal(target, z * DeterministicMath.Silu(z), target * 1e-12);
        }
    }

    [Fact]
    public void StorageRoundingMatchesTheEnginesConversions()
    {
        var rng = new DeterministicRandom(5);
        for (int i = 0; i < 20_000; i++)
        {
            double x = rng.NextNormal() * Math.Pow(2, rng.NextInt(30) - 20); // inside the F16 range
            float f = (float)x;
            Assert.Equal(f, WeightPrecision.Round(x, DType.F32));
            Assert.Equal(TensorData.HalfToFloat(TensorData.FloatToHalf(f)), WeightPrecision.Round(x, DType.F16));
            Assert.Equal(TensorData.BFloat16ToFloat(TensorData.FloatToBFloat16(f)), WeightPrecision.Round(x, DType.BF16));
        }
        // Ties go to the even neighbour: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7 in bfloat16.
        Assert.Equal(1.0, WeightPrecision.Round(1 + 1.0 / 256, DType.BF16));
        Assert.Equal(1 + 2.0 / 128, WeightPrecision.Round(1 + 3.0 / 256, DType.BF16));
        Assert.Throws<ArgumentException>(() => WeightPrecision.Round(70000, DType.F16));
        Assert.Throws<ArgumentException>(() => WeightPrecision.Round(double.NaN, DType.F32));
        Assert.Throws<ArgumentException>(() => WeightPrecision.Round(1, DType.I8));
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void EncodedBytesDecodeToTheSameValues(DType dtype)
    {
        var rng = new DeterministicRandom(6);
        var values = new float[257];
        for (int i = 0; i < values.Length; i++) values[i] = (float)WeightPrecision.Round(rng.NextNormal(), dtype);
        byte[] bytes = WeightPrecision.Encode(values, dtype);
        Assert.Equal(values.Length * DTypes.SizeOf(dtype), bytes.Length);
        var decoded = new float[values.Length];
        switch (dtype)
        {
            case DType.F16: TensorData.HalfToFloat(bytes, decoded); break;
            case DType.BF16: TensorData.BFloat16ToFloat(bytes, decoded); break;
            default: Buffer.BlockCopy(bytes, 0, decoded, 0, bytes.Length); break;
        }
        Assert.Equal(values, decoded);
    }
}
