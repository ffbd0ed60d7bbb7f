using Optimizer.Engine.Manifest;

namespace Optimizer.Engine.Tests.Manifest;

/// <summary>A hand-built manifest that uses every section and every optional form (nulls, both readings, all kinds).</summary>
internal static class SampleManifest
{
    public static OutlierManifest Create()
    {
        var model = new ManifestModel("tiny-llama",
            new ManifestArchitecture("llama", 2, 8, 16, 2, 1, 4, 257, 1234, true, false, 10000, 1e-5),
            new[]
            {
                new ManifestFile("tokenizer.json", 10, new string('b', 64)),
                new ManifestFile("config.json", 20, new string('a', 64)),
            });
        var options = new ManifestOptions(
            new MaOptions(MaOptions.Absolute, 100, 1000, 8, 20, 0.5),
            new CoOptions(CoOptions.ChannelMedianRatio, 10, new[] { "y6", "attn.q", "attn.y2" }),
            new RatioOption(5), new RatioOption(10), 16);
        var calibration = new ManifestCalibration(ManifestCalibration.SelfSampledSource, Array.Empty<ManifestFile>(), 42,
            new CalibrationSampling(1.0, 40), 2, 8, true, 16, new string('c', 64));
        var census = new[]
        {
            new CensusEntry(1, "y6", 16, 512.34567, 0.0123456, 1.5, 4096.5,
                new[] { new CensusTopEntry(0, 256, 3, 3.25), new CensusTopEntry(0, 256, 7, -512.34567) }),
            new CensusEntry(0, "y8", 8, 1, 0.5, 0.9, 2, Array.Empty<CensusTopEntry>()),
            new CensusEntry(0, "attn.y1", 8, 1, 0.5, 0.9, 2, Array.Empty<CensusTopEntry>()),
        };
        var profiles = new[]
        {
            new NormProfile(0, NormProfile.FeedForward, new double[] { 1, 2 }, new double[] { 3, 4 }, new double[] { 0.5, -1.25 }),
            new NormProfile(0, NormProfile.Attention, new double[] { 1, 2 }, new double[] { 3, 4 }, new double[] { 0.5, 1 }),
        };
        var findings = new ManifestFindings(
            new[]
            {
                new MassiveActivationRecord(1, "y8", 0, 0, 256, "<s>", 5, 600.123, 2500, MassiveActivationRecord.Propagated),
                new MassiveActivationRecord(0, "y6", 0, 0, 256, "<s>", 7, -512.34567, double.PositiveInfinity, MassiveActivationRecord.Birth),
                new MassiveActivationRecord(0, "y7", 8, 0, 256, "<s>", 5, 700, 3000, MassiveActivationRecord.Tma),
            },
            new[] { new BirthRecord(0, "y6", 7, 5, 0, 256, -512.34567) },
            new[] { new PropagationRecord(5, new[] { 0, 0 }, 0, 1, 700) },
            new[] { new SuperWeightRecord(0, "model.layers.0.mlp.down_proj.weight", 5, 7, -1.3666, -512.34567, 700.2, 0.99) },
            new[]
            {
                new ChannelOutlierRecord(1, "attn.q", 2, 5, 12, 0.97, ChannelOutlierRecord.OtcCause, null, new OtcReference(OtcRecord.Row, 2)),
                new ChannelOutlierRecord(0, "attn.y2", 4, 6, 15, 1, ChannelOutlierRecord.Gamma, 9.5, null),
            },
            new[]
            {
                new OtcRecord(1, "model.layers.1.self_attn.q_proj.weight", OtcRecord.Column, 4, null, 25),
                new OtcRecord(1, "model.layers.1.self_attn.q_proj.weight", OtcRecord.Row, 2, 0, 12),
            },
            new[]
            {
                new NearThresholdRecord(1, "y4", 3, 3, 101, "e", 1, 60, 30, NearThresholdRecord.AbsoluteCriterion),
                new NearThresholdRecord(1, "y3", 2, 2, 100, "d", 1, -70, 40, NearThresholdRecord.BothCriteria),
            });
        return new OutlierManifest(new ManifestTool("dotnet-outlier-opt", "0.1.0"), model, options, calibration, census, profiles, findings);
    }
}
