using Optimizer.Engine.Diagnostics.ChannelOutliers;

namespace Optimizer.Engine.Tests.Diagnostics.ChannelOutliers;

public class QueryOutlierScorerTests
{
    [Theory]
    [InlineData(0, 8, 4)]
    [InlineData(4, 8, 0)]
    [InlineData(3, 8, 7)]
    [InlineData(9, 8, 13)]
    [InlineData(15, 8, 11)]
    [InlineData(33, 16, 41)]
    public void RopePartnerIsTheRotateHalfPartnerWithinTheHead(int row, int headDim, int partner)
    {
        Assert.Equal(partner, QueryOutlierScorer.RopePartner(row, headDim));
        Assert.Equal(row, QueryOutlierScorer.RopePartner(partner, headDim));
    }

    /// <summary>phi3's partial rotary (R = 12 of 16): pairs (i, i + 6) for i &lt; 12 within each head; rows 12–15 have no partner.</summary>
    [Theory]
    [InlineData(0, 6)]
    [InlineData(5, 11)]
    [InlineData(16 + 3, 16 + 9)]
    [InlineData(12, 12)]
    [InlineData(16 + 15, 16 + 15)]
    public void WithPartialRotaryThePartnerIsWithinTheRotaryDimensions(int row, int partner)
    {
        Assert.Equal(partner, QueryOutlierScorer.RopePartner(row, 16, 12));
        Assert.Equal(row, QueryOutlierScorer.RopePartner(partner, 16, 12));
    }

    [Fact]
    public void ColumnScoreIsInputMedianTimesColumnAbsMaxOverTheMedianColumn()
    {
        // 2 rows × 5 columns; column 3 meets a large input, column 1 has a large weight.
        float[] weight = { 1, -4, 1, 1, 1, -1, 1, 2, 1, 0.5f };
        double[] input = { 1, 1, 1, 20, 1 };
        Assert.Equal(new double[] { 1, 4, 2, 20, 1 }, QueryOutlierScorer.ColumnContributions(input, weight));
        var found = QueryOutlierScorer.Columns(5, "w", input, weight, ratio: 10);
        // Sorted contributions 1, 1, 2, 4, 20: the lower median is 2, so column 3 scores 10.
        var otc = Assert.Single(found);
        Assert.Equal((5, "w", OtcReading.Column, 3, (int?)null, 10.0), (otc.Layer, otc.Tensor, otc.Reading, otc.Index, otc.RopePair, otc.Score));
        Assert.Empty(QueryOutlierScorer.Columns(5, "w", input, weight, ratio: 10.5));
        Assert.Empty(QueryOutlierScorer.Columns(5, "w", new double[5], weight, ratio: 10));
        Assert.Throws<ArgumentException>(() => QueryOutlierScorer.Columns(5, "w", new double[3], weight, ratio: 10));
    }
}
