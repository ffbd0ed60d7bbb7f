using Optimizer.Engine.Manifest;

namespace Optimizer.Engine.Tests.Manifest;

public sealed class ManifestNumbersTests
{
    [Theory]
    [InlineData(1234.5, 1234.0)] // half to even: 4 is even
    [InlineData(1235.5, 1236.0)]
    [InlineData(12.125, 12.12)]
    [InlineData(12.135, 12.14)]
    [InlineData(12.1251, 12.13)]
    [InlineData(0.000123456, 0.0001235)]
    [InlineData(-98765.4321, -98770.0)]
    [InlineData(9999.5, 10000.0)]
    [InlineData(0.99995, 1.0)]
    [InlineData(1.0, 1.0)]
    [InlineData(123, 123)]
    [InlineData(1.2345e-300, 1.234e-300)]
    [InlineData(6.02214076e23, 6.022e23)]
    public void Round4_keeps_four_significant_digits_half_to_even(double value, double expected)
    {
        Assert.Equal(expected, ManifestNumbers.Round4(value));
    }

    [Fact]
    public void Round4_maps_negative_zero_to_zero_and_leaves_non_finite_values()
    {
        Assert.True(double.IsPositive(ManifestNumbers.Round4(-0.0)));
        Assert.True(double.IsNaN(ManifestNumbers.Round4(double.NaN)));
        Assert.Equal(double.NegativeInfinity, ManifestNumbers.Round4(double.NegativeInfinity));
    }

    [Fact]
    public void Round4_is_idempotent_on_random_values()
    {
        var random = new Random(7);
        for (int i = 0; i < 20000; i++)
        {
            double value = (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-12, 12));
            double once = ManifestNumbers.Round4(value);
            Assert.Equal(once, ManifestNumbers.Round4(once));
            Assert.True(Math.Abs(once - value) <= Math.Abs(value) * 5e-4 + double.Epsilon, $"{value} -> {once}");
            Assert.True(ManifestNumbers.Format(value, "x").TrimStart('-').Replace(".", "").TrimStart('0').Split('e')[0].TrimEnd('0').Length <= 4,
                ManifestNumbers.Format(value, "x"));
        }
    }

    [Theory]
    [InlineData(1234.4, "1234")]
    [InlineData(0.0123456, "0.01235")]
    [InlineData(1.23456e-7, "1.235e-07")]
    [InlineData(-2.5e20, "-2.5e+20")]
    [InlineData(-0.0, "0")]
    [InlineData(100.0, "100")]
    public void Format_writes_the_shortest_round_trip_text_of_the_rounded_value(double value, string expected)
    {
        Assert.Equal(expected, ManifestNumbers.Format(value, "x"));
    }

    [Fact]
    public void Format_rejects_non_finite_values_with_a_manifest_error()
    {
        var ex = Assert.Throws<OptimizerException>(() => ManifestNumbers.Format(double.NaN, "census[0].max_abs"));
        Assert.Equal(ErrorCodes.ManifestValueNotFinite, ex.Code);
        Assert.Contains("census[0].max_abs", ex.Message);
    }
}
