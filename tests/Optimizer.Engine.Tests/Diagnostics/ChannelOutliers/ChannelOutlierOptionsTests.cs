using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Tests.Diagnostics.ChannelOutliers;

public class ChannelOutlierOptionsTests
{
    [Fact]
    public void DefaultsAreTheDocumentedOnes()
    {
        var options = new ChannelOutlierOptions();
        options.Validate();
        Assert.Equal(("channel-median-ratio", 10.0, 5.0, 10.0), (options.Rule, options.CoRatio, options.GammaRatio, options.OtcRatio));
        Assert.Equal(new[] { "attn.y2", "attn.q", "attn.k", "attn.v", "attn.out", "y2", "y3", "y4", "y5", "y6" }, options.SiteIds);
        Assert.Equal(
            new[] { ProbeSite.AttnNormIn, ProbeSite.AttnY2, ProbeSite.AttnQ, ProbeSite.AttnK, ProbeSite.AttnV, ProbeSite.AttnOut,
                    ProbeSite.NormIn, ProbeSite.Y2, ProbeSite.Y3, ProbeSite.Y4, ProbeSite.Y5, ProbeSite.Y6 },
            ChannelMagnitudes.RequiredSites(options));
    }

    public static TheoryData<string, ChannelOutlierOptions> Invalid() => new()
    {
        { "co.rule", new ChannelOutlierOptions { Rule = "channel-mean-ratio" } },
        { "co.ratio", new ChannelOutlierOptions { CoRatio = 1 } },
        { "co.ratio", new ChannelOutlierOptions { CoRatio = double.NaN } },
        { "gamma.ratio", new ChannelOutlierOptions { GammaRatio = 0.5 } },
        { "otc.ratio", new ChannelOutlierOptions { OtcRatio = double.PositiveInfinity } },
        { "co.sites", new ChannelOutlierOptions { Sites = Array.Empty<ProbeSite>() } },
        { "co.sites", new ChannelOutlierOptions { Sites = new[] { ProbeSite.Y6, ProbeSite.Y6 } } },
        { "co.sites", new ChannelOutlierOptions { Sites = new[] { (ProbeSite)99 } } },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void InvalidValuesAreRejectedWithTheAnalysisOptionCode(string key, ChannelOutlierOptions options)
    {
        var error = Assert.Throws<OptimizerException>(options.Validate);
        Assert.Equal(ErrorCodes.AnalysisOptionInvalid, error.Code);
        Assert.Contains(key, error.Message);
    }
}
