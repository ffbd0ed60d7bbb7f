using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Diagnostics.ChannelOutliers;

/// <summary>Causes other than the presets' own: uncompensated γ (reading B sees it), a residual-stream CO, determinism.</summary>
public class ChannelOutlierAttributionTests
{
    [Fact]
    public void UncompensatedGammaOutliersAreGammaCOsAndTheirColumnsAreReadingBTriggeringChannels()
    {
        int[] channels = { 9, 37 };
        var model = new SyntheticModelBuilder()
            .WithSeed(3)
            .WithGammaOutliers(layer: 1, PlantedNorm.Attention, channels, scale: 25, compensateConsumers: false)
            .Generate();
        var (report, _, _) = ChannelOutlierHarness.Analyze(model);

        var y2 = report.Outliers.Where(o => o.Layer == 1 && o.Site == ProbeSite.AttnY2).ToList();
        Assert.Equal(channels, y2.Select(o => o.Channel));
        Assert.All(y2, o => Assert.Equal(ChannelOutlierCause.Gamma, o.Cause));
        Assert.All(y2, o => Assert.InRange(o.GammaRatio!.Value, 24.9, 25.1));
        // The larger y2 channels meet unscaled q_proj columns, so their contributions dominate: reading B.
        var columns = report.TriggeringChannels.Where(o => o.Layer == 1 && o.Reading == OtcReading.Column).Select(o => o.Index);
        Assert.Equal(channels, columns);
        Assert.DoesNotContain(report.TriggeringChannels, o => o.Layer != 1);
    }

    [Fact]
    public void AResidualChannelOutlierIsAttributedToTheResidualStreamNotToGamma()
    {
        const int channel = 21;
        var model = new SyntheticModelBuilder().WithSeed(2).Generate();
        var embedding = model.Tensor(LlamaTensorNames.Name(TensorRole.TokenEmbedding));
        int hidden = model.Config.HiddenSize;
        for (int offset = channel; offset < embedding.Values.Length; offset += hidden) embedding.Values[offset] *= 40;
        var options = new ChannelOutlierOptions
        {
            Sites = ChannelOutlierOptions.DefaultSites.Concat(new[] { ProbeSite.AttnY1, ProbeSite.AttnNormIn, ProbeSite.Y1, ProbeSite.Y8 }).ToArray(),
        };
        var (report, _, magnitudes) = ChannelOutlierHarness.Analyze(model, options);

        var layer0 = report.Outliers.Where(o => o.Layer == 0 && o.Channel == channel).ToDictionary(o => o.Site);
        // attn.y1 of layer 0 is the embedding: nothing upstream in the residual stream explains it.
        Assert.Equal(ChannelOutlierCause.Unknown, layer0[ProbeSite.AttnY1].Cause);
        foreach (var site in new[] { ProbeSite.AttnNormIn, ProbeSite.AttnY2, ProbeSite.Y1, ProbeSite.Y8 })
            Assert.Equal(ChannelOutlierCause.Residual, layer0[site].Cause);
        var attnY1Layer1 = report.Outliers.Single(o => o.Layer == 1 && o.Site == ProbeSite.AttnY1 && o.Channel == channel);
        Assert.Equal(ChannelOutlierCause.Residual, attnY1Layer1.Cause);
        Assert.DoesNotContain(report.Outliers, o => o.Cause == ChannelOutlierCause.Gamma);
        Assert.Contains(ProbeSite.Y8, ChannelMagnitudes.RequiredSites(options));
        Assert.True(magnitudes.TryGet(3, ProbeSite.Y8, out _));
    }

    [Fact]
    public void TheAnalysisIsDeterministic()
    {
        var model = new SyntheticModelBuilder(SyntheticModelBuilder.Presets.AllThree(1, 64)).Generate();
        string first = Render(ChannelOutlierHarness.Analyze(model).Report);
        string second = Render(ChannelOutlierHarness.Analyze(model).Report);
        Assert.Equal(first, second);
        Assert.Contains("attn.q", first);
    }

    [Fact]
    public void MissingStatisticsAndMisshapenWeightsAreReported()
    {
        var model = new SyntheticModelBuilder().Generate();
        using var source = ChannelOutlierHarness.Source(model);
        var empty = new ActivationStatistics();
        var magnitudes = ChannelMagnitudes.For(new ChannelOutlierOptions());
        var error = Assert.Throws<ArgumentException>(() => ChannelOutlierAnalyzer.Analyze(model.Config, source, empty, magnitudes));
        Assert.Contains("attn.q", error.Message);

        var tensor = model.Tensor(LlamaTensorNames.Name(TensorRole.AttnNorm, 0));
        source.Add(tensor.Name, tensor.DType, new long[] { 8 }, tensor.Values.Take(8).ToArray());
        var shape = Assert.Throws<OptimizerException>(() => ChannelOutlierAnalyzer.Analyze(model.Config, source, empty, magnitudes));
        Assert.Equal(ErrorCodes.TensorShapeMismatch, shape.Code);
    }

    private static string Render(ChannelOutlierReport report) => string.Join("\n",
        report.Outliers.Select(o => $"{ChannelOutlierHarness.Describe(o)} {o.MedianAbs:R} {o.TokenFraction:R} {o.GammaRatio:R} {o.Otc}")
            .Concat(report.TriggeringChannels.Select(o => $"{o}"))
            .Concat(report.Profiles.Select(p => $"{p.Layer} {p.NormId} {string.Join(",", p.PreGammaAbsMax)} {string.Join(",", p.PostGammaAbsMax)}")));
}
