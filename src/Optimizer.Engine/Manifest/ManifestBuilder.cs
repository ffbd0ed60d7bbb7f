using Optimizer.Engine.Calibration;
using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Diagnostics.MassiveActivations;
using Optimizer.Engine.Formats;
using NormProfile = Optimizer.Engine.Manifest.NormProfile;

namespace Optimizer.Engine.Manifest;

/// <summary>
/// Turns the analysis results (<see cref="ActivationAnalysis"/> for the census and the MA findings, the channel-outlier
/// findings and norm profiles) into an <see cref="OutlierManifest"/>.
/// </summary>
public static class ManifestBuilder
{
    /// <summary>The tool name written as <c>tool.name</c>.</summary>
    public const string ToolName = "dotnet-outlier-opt";

    /// <summary>The informational version without its <c>+commit</c> suffix (<c>0.1.0+1a2b3c</c> → <c>0.1.0</c>).</summary>
    public static string ReleaseVersion(string informationalVersion)
    {
        int plus = informationalVersion.IndexOf('+');
        return (plus >= 0 ? informationalVersion[..plus] : informationalVersion).Trim();
    }

    /// <summary>Builds the manifest; model files are hashed here (the only file I/O).</summary>
    public static OutlierManifest Build(ActivationAnalysis analysis, ChannelOutlierOptions coOptions, ChannelFindings channels,
        string toolVersion, CancellationToken cancellation = default)
    {
        ModelFolder folder = analysis.Model;
        ModelConfig c = folder.Config;
        string name = folder.Name;
        var architecture = new ManifestArchitecture(c.ModelType, c.NumHiddenLayers, c.HiddenSize, c.IntermediateSize, c.NumAttentionHeads,
            c.KeyValueHeads, c.HeadDim, c.VocabSize, folder.ParameterCount, c.TieWordEmbeddings, c.HasQkvBias, c.RopeTheta, c.RmsNormEps)
        {
            // A GGUF input carries llama3's scaling as its rope_freqs divisors rather than as a config object.
            RopeScaling = c.RopeFrequencyDivisors is not null ? "llama3" : c.Rope.TypeName,
            QkNorm = c.HasQkNorm,
        };
        var model = new ManifestModel(name, architecture, ModelFileHashes.Describe(folder, cancellation));

        MassiveActivationOptions ma = analysis.MassiveActivations.Options;
        var options = new ManifestOptions(
            new MaOptions(ma.ModeId, ma.AbsoluteThreshold, ma.RelativeThreshold, ma.ScaleFreeFactor, ma.RelativeThresholdScaleFree, ma.NearThresholdFraction),
            new CoOptions(coOptions.Rule, coOptions.CoRatio, coOptions.SiteIds),
            new RatioOption(coOptions.GammaRatio),
            new RatioOption(coOptions.OtcRatio),
            analysis.Options.CensusTopK);

        var census = Census(analysis.Census);

        MassiveActivationReport report = analysis.MassiveActivations;
        var findings = new ManifestFindings(
            report.Occurrences.Select(a => new MassiveActivationRecord(a.Layer, a.SiteId, a.TokenIndex, a.TokenPosition, a.TokenId, a.TokenText,
                a.Channel, a.Value, FiniteOrNull(a.Ratio), MassiveActivationKinds.Id(a.Kind))).ToArray(),
            report.Births.Select(b => new BirthRecord(b.Layer, b.SiteId, b.Channel, b.ResidualChannel, b.TokenPosition, b.TokenId, b.Value)).ToArray(),
            report.Propagation.Select(p => new PropagationRecord(p.Channel, p.TokenPositions, p.FirstLayer, p.LastLayer, p.MaxAbs)).ToArray(),
            report.SuperWeights.Select(s => new SuperWeightRecord(s.Layer, s.Tensor, s.Row, s.Column, s.Weight, s.Y6Value, s.Contribution, s.Share)).ToArray(),
            channels.ChannelOutliers,
            channels.OutlierTriggeringChannels,
            report.NearThreshold.Select(n => new NearThresholdRecord(n.Layer, n.SiteId, n.TokenIndex, n.TokenPosition, n.TokenId, n.TokenText,
                n.Channel, n.Value, FiniteOrNull(n.Ratio), n.CriterionId)).ToArray());

        return new OutlierManifest(new ManifestTool(ToolName, ReleaseVersion(toolVersion)), model, options,
            Calibration(analysis.Calibration), census, channels.Profiles, findings);
    }

    /// <summary>The <c>census</c> entries of an analysis (also used for <c>census_after</c>).</summary>
    public static CensusEntry[] Census(IReadOnlyList<SiteCensus> census) =>
        census.Select(s => new CensusEntry(s.Layer, s.SiteId, s.Channels, s.MaxAbs, s.MedianAbs, s.P99Abs, s.MaxTokenRatio,
            s.Top.Select(t => new CensusTopEntry(t.Position, checked((int)t.TokenId), t.Channel, t.Value)).ToArray())).ToArray();

    /// <summary>The <c>calibration</c> section of a calibration set.</summary>
    public static ManifestCalibration Calibration(CalibrationSet set)
    {
        CalibrationSource source = set.Source;
        return new ManifestCalibration(
            source.Id,
            source.Files.Select(f => new ManifestFile(f.Path, f.Bytes, f.Sha256)).ToArray(),
            source.Seed is ulong seed ? checked((long)seed) : null,
            source.Sampling is { } s ? new CalibrationSampling(s.Temperature, s.TopK) : null,
            set.Sequences.Count,
            set.SequenceLength,
            set.Bos,
            set.TokenCount,
            set.TokensSha256);
    }

    /// <summary>The channel-outlier report in manifest form.</summary>
    public static ChannelFindings Channels(ChannelOutlierReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new ChannelFindings(
            report.Outliers.Select(o => new ChannelOutlierRecord(o.Layer, o.SiteId, o.Channel, o.MedianAbs, o.Ratio, o.TokenFraction,
                ChannelOutlierCauses.Id(o.Cause), o.GammaRatio, o.Otc is { } otc ? new OtcReference(OtcReadings.Id(otc.Reading), otc.Index) : null)).ToArray(),
            report.TriggeringChannels.Select(t => new OtcRecord(t.Layer, t.Tensor, OtcReadings.Id(t.Reading), t.Index, t.RopePair, t.Score)).ToArray(),
            report.Profiles.Select(p => new NormProfile(p.Layer, NormPositions.Id(p.Norm), Widen(p.PreGammaAbsMax), Widen(p.PostGammaAbsMax), Widen(p.Gamma))).ToArray());
    }

    private static double[] Widen(IReadOnlyList<float> values)
    {
        var result = new double[values.Count];
        for (int i = 0; i < result.Length; i++) result[i] = values[i];
        return result;
    }

    private static double? FiniteOrNull(double value) => double.IsFinite(value) ? value : null;
}
