using Optimizer.Engine.Calibration;
using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Diagnostics.MassiveActivations;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Engine.Tests.Fixtures;

namespace Optimizer.Engine.Tests.Diagnostics;

/// <summary>The analysis run: census shape and values, complete MA detection when the kept entries saturate, scale-free mode, options, progress, cancellation.</summary>
[Collection(SyntheticPresetCollection.Name)]
public class AnalysisRunnerTests(SyntheticPresetFolders presets)
{
    [Fact]
    public void TheCensusCoversEveryLayerAndSiteInForwardOrder()
    {
        var (folder, truth) = presets.Get("ma-h64-s1");
        var (analysis, model) = PresetAnalysis.Run(folder, new AnalysisOptions { CensusTopK = 6 });
        using (model)
        {
            var expected = Enumerable.Range(0, truth.Model.Layers).SelectMany(l => ProbeSites.For(model.Config).Select(s => (l, s))).ToList();
            Assert.Equal(expected, analysis.Census.Select(c => (c.Layer, c.Site)));
            foreach (var c in analysis.Census)
            {
                var stats = analysis.Statistics.Get(c.Layer, c.Site);
                Assert.Equal((stats.MaxAbs, stats.Channels, 6), (c.MaxAbs, c.Channels, c.Top.Count));
                Assert.Equal(stats.Top.Take(6), c.Top);
                Assert.InRange(c.MedianAbs, 0, c.P99Abs);
                Assert.InRange(c.P99Abs, 0, c.MaxAbs * 1.05);
                Assert.InRange(c.MaxTokenRatio, 1, double.MaxValue);
            }
            var birthY8 = analysis.Census.Single(c => c.Layer == truth.MassiveActivation!.BirthLayer && c.Site == ProbeSite.Y8);
            Assert.Equal((0, truth.MassiveActivation!.Channel), (birthY8.Top[0].Position, birthY8.Top[0].Channel));
            Assert.InRange(birthY8.MaxTokenRatio, 1000, double.MaxValue);
            Assert.Equal("cpu", analysis.Device);
            Assert.Equal(4, analysis.Calibration.Sequences.Count);
        }
    }

    [Fact]
    public void TextCalibrationFindsThePlantedMassiveActivationOnEveryBos()
    {
        var (folder, truth) = presets.Get("all-h256-s3");
        string text = Path.Combine(Path.GetTempPath(), "oopt-a1-text-" + Guid.NewGuid().ToString("N") + ".txt");
        File.WriteAllText(text, CalibrationTokens.Text);
        try
        {
            var calibration = PresetAnalysis.SmallCalibration with { Paths = new[] { text } };
            var (analysis, model) = PresetAnalysis.Run(folder, calibration: calibration);
            using (model)
            {
                Assert.Equal(CalibrationSourceKind.Text, analysis.Calibration.Source.Kind);
                Assert.Equal(4, analysis.Calibration.Sequences.Count);
                PlantedMassiveActivationTests.AssertPlanted(analysis, truth.MassiveActivation!);
            }
        }
        finally
        {
            File.Delete(text);
        }
    }

    [Fact]
    public void SaturatedSitesAreRemeasuredSoNoEntryAboveTheThresholdIsMissed()
    {
        var (folder, _) = presets.Get("ma-h64-s1");
        var low = new MassiveActivationOptions { AbsoluteThreshold = 1.5, RelativeThreshold = 2 };
        const int all = 1 << 16; // more than any site's entries (128 tokens × 172 neurons)
        var (few, m1) = PresetAnalysis.Run(folder, new AnalysisOptions { MassiveActivations = low, CensusTopK = 4, StatisticsTopK = 4, MaxStatisticsTopK = all });
        var (many, m2) = PresetAnalysis.Run(folder, new AnalysisOptions { MassiveActivations = low, CensusTopK = 4, StatisticsTopK = all, MaxStatisticsTopK = all });
        var (capped, m3) = PresetAnalysis.Run(folder, new AnalysisOptions { MassiveActivations = low, CensusTopK = 4, StatisticsTopK = 4, MaxStatisticsTopK = 4 });
        using (m1) using (m2) using (m3)
        {
            Assert.Contains(few.MassiveActivations.Occurrences.GroupBy(o => (o.Layer, o.Site)), g => g.Count() > 16);
            Assert.Equal(many.MassiveActivations.Occurrences, few.MassiveActivations.Occurrences);
            Assert.Equal(many.MassiveActivations.Births, few.MassiveActivations.Births);
            Assert.Empty(few.Warnings);
            Assert.Empty(many.Warnings);
            Assert.NotEmpty(capped.Warnings);
            Assert.Contains("only the 4 largest were examined", capped.Warnings[0]);
            Assert.True(capped.MassiveActivations.Occurrences.Count < few.MassiveActivations.Occurrences.Count);
        }
    }

    [Theory]
    [InlineData("ma-h64-s5")]
    [InlineData("all-h128-s2")]
    public void ScaleFreeModeFindsThePlantedBirthAndSuperWeight(string preset)
    {
        var (folder, truth) = presets.Get(preset);
        var options = new AnalysisOptions { MassiveActivations = new MassiveActivationOptions { Mode = MassiveActivationMode.ScaleFree } };
        var (analysis, model) = PresetAnalysis.Run(folder, options);
        using (model)
        {
            var ma = truth.MassiveActivation!;
            var report = analysis.MassiveActivations;
            Assert.Equal("scale-free", report.Options.ModeId);
            // Relative to the site, the neuron's gate/up outputs (√ of the super activation) already stand out, so the
            // birth may be traced to y3/y4 of the same neuron; y6 is part of the birth either way.
            var birth = Assert.Single(report.Births);
            Assert.Equal((ma.BirthLayer, ma.Neuron, ma.Channel, 0), (birth.Layer, birth.Channel, birth.ResidualChannel, birth.TokenPosition));
            Assert.Contains(birth.Site, new[] { ProbeSite.Y3, ProbeSite.Y4, ProbeSite.Y5, ProbeSite.Y6 });
            Assert.Contains(report.Occurrences, o => o.Layer == ma.BirthLayer && o.Site == ProbeSite.Y6 && o.Channel == ma.Neuron && o.Kind == MassiveActivationKind.Birth);
            var weight = Assert.Single(report.SuperWeights);
            Assert.Equal((ma.SuperWeight.Row, ma.SuperWeight.Column), (weight.Row, weight.Column));
            Assert.All(report.Thresholds, t => Assert.False(t.MagnitudeStrict));
            Assert.All(report.Occurrences, o => Assert.InRange(o.Ratio, 20, double.MaxValue));
        }
    }

    [Fact]
    public void NearThresholdCandidatesAreReportedWithTheFailedCriterion()
    {
        var (folder, truth) = presets.Get("ma-h64-s1");
        // Thresholds just above the planted values: the planted entries become near-threshold candidates instead of MAs.
        var options = new AnalysisOptions { MassiveActivations = new MassiveActivationOptions { AbsoluteThreshold = 2500, RelativeThreshold = 1000 } };
        var (analysis, model) = PresetAnalysis.Run(folder, options);
        using (model)
        {
            var report = analysis.MassiveActivations;
            Assert.Empty(report.Occurrences);
            Assert.NotEmpty(report.NearThreshold);
            Assert.All(report.NearThreshold, n => Assert.Equal(("absolute", 0), (n.CriterionId, n.TokenPosition)));
            Assert.Equal(report.NearThreshold.OrderByDescending(n => Math.Abs(n.Value)).Select(n => Math.Abs(n.Value)), report.NearThreshold.Select(n => Math.Abs(n.Value)));
            Assert.Contains(report.NearThreshold, n => n.Layer == truth.MassiveActivation!.BirthLayer && n.Site == ProbeSite.Y8 && n.Channel == truth.MassiveActivation.Channel);
        }
    }

    [Fact]
    public void ProgressIsReportedAndCancellationStopsTheRun()
    {
        var (folder, _) = presets.Get("clean-h64-s1");
        using var model = ModelFolder.Open(folder);
        var stages = new List<AnalysisProgress>();
        var analysis = AnalysisRunner.Run(model, PresetAnalysis.SmallCalibration, new AnalysisOptions(), new SyncProgress(stages.Add));
        Assert.Equal(new[] { "sampling", "calibrating", "diagnosing" }, stages.Select(s => s.Stage).Distinct());
        Assert.Contains(stages, s => s.Stage == "calibrating" && s.Done == 4 && s.Total == 4);
        Assert.Empty(analysis.MassiveActivations.Occurrences);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => AnalysisRunner.Run(model, PresetAnalysis.SmallCalibration, new AnalysisOptions(), null, cts.Token));
    }

    public static TheoryData<AnalysisOptions> InvalidOptions() => new()
    {
        new AnalysisOptions { CensusTopK = 0 },
        new AnalysisOptions { StatisticsTopK = 8 },
        new AnalysisOptions { MaxStatisticsTopK = 16 },
        new AnalysisOptions { BatchSize = 0 },
        new AnalysisOptions { MassiveActivations = new MassiveActivationOptions { AbsoluteThreshold = -1 } },
        new AnalysisOptions { MassiveActivations = new MassiveActivationOptions { RelativeThreshold = double.NaN } },
        new AnalysisOptions { MassiveActivations = new MassiveActivationOptions { ScaleFreeFactor = 0 } },
        new AnalysisOptions { MassiveActivations = new MassiveActivationOptions { RelativeThresholdScaleFree = double.PositiveInfinity } },
        new AnalysisOptions { MassiveActivations = new MassiveActivationOptions { NearThresholdFraction = 1.5 } },
        new AnalysisOptions { MassiveActivations = new MassiveActivationOptions { SuperWeightMinShare = 0 } },
        new AnalysisOptions { MassiveActivations = new MassiveActivationOptions { MaxNearThreshold = -1 } },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void InvalidOptionsAreRejectedWithACode(AnalysisOptions options)
    {
        var error = Assert.Throws<OptimizerException>(options.Validate);
        Assert.Equal(ErrorCodes.AnalysisOptionInvalid, error.Code);
    }

    private sealed class SyncProgress(Action<AnalysisProgress> report) : IProgress<AnalysisProgress>
    {
        public void Report(AnalysisProgress value) => report(value);
    }
}
