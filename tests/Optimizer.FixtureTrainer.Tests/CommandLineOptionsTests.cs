namespace Optimizer.FixtureTrainer.Tests;

public class CommandLineOptionsTests
{
    [Fact]
    public void ParsesKnownOptionsAndFallsBackToDefaults()
    {
        var o = new CommandLineOptions(new[] { "--steps", "12", "--lr", "1e-3", "--out", "m" }, new[] { "steps", "lr", "out", "seed" });
        Assert.Equal(12, o.Int("steps", 0));
        Assert.Equal(1e-3, o.Double("lr", 0));
        Assert.Equal("m", o.Required("out"));
        Assert.Equal(7, o.Int("seed", 7));
        Assert.False(o.Has("seed"));
    }

    [Theory]
    [InlineData(new[] { "--stepz", "1" }, "Unknown option")]
    [InlineData(new[] { "--steps" }, "needs a value")]
    [InlineData(new[] { "--steps", "1", "--steps", "2" }, "given twice")]
    [InlineData(new[] { "steps" }, "Unexpected argument")]
    public void RejectsMalformedCommandLines(string[] args, string message)
    {
        var ex = Assert.Throws<ArgumentException>(() => new CommandLineOptions(args, new[] { "steps" }));
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void RejectsOutOfRangeAndUnparsableNumbersAndMissingRequiredOptions()
    {
        var o = new CommandLineOptions(new[] { "--steps", "-1", "--lr", "fast" }, new[] { "steps", "lr", "out" });
        Assert.Contains("--steps", Assert.Throws<ArgumentException>(() => o.Int("steps", 0, min: 0)).Message);
        Assert.Contains("--lr", Assert.Throws<ArgumentException>(() => o.Double("lr", 0)).Message);
        Assert.Contains("--out", Assert.Throws<ArgumentException>(() => o.Required("out")).Message);
    }
}
