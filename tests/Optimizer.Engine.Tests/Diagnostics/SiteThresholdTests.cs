using Optimizer.Engine.Diagnostics.MassiveActivations;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Tests.Diagnostics;

/// <summary>Threshold tests and the token-median ratio.</summary>
public class SiteThresholdTests
{
    [Fact]
    public void RatiosAreInfiniteOnlyForAZeroOrMissingMedian()
    {
        Assert.Equal(3, SiteThresholds.Ratio(6, 2));
        Assert.Equal(0, SiteThresholds.Ratio(0, 0));
        Assert.Equal(double.PositiveInfinity, SiteThresholds.Ratio(5, 0));
        Assert.Equal(double.PositiveInfinity, SiteThresholds.Ratio(5, double.NaN));
    }

    [Fact]
    public void TheAbsoluteMagnitudeTestIsStrictAndTheScaleFreeOneIsNot()
    {
        var absolute = new SiteThreshold(0, ProbeSite.Y8, 100, true, 1000);
        var scaleFree = new SiteThreshold(0, ProbeSite.Y8, 100, false, 20);
        Assert.False(absolute.PassesMagnitude(100));
        Assert.True(absolute.PassesMagnitude(100.001));
        Assert.True(scaleFree.PassesMagnitude(100));
        Assert.True(absolute.PassesRatio(1000));
        Assert.False(absolute.PassesRatio(999.9));
    }
}
