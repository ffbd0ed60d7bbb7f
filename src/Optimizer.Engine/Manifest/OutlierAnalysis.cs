using System.Diagnostics;
using Optimizer.Engine.Calibration;
using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Manifest;

/// <summary>What one <see cref="OutlierAnalysis.Run(ModelFolder, CalibrationOptions, AnalysisOptions, ChannelOutlierOptions, string, IProgress{AnalysisProgress}?, CancellationToken)"/> produced: the manifest, the analysis it was built from, and what the run has to say about itself.</summary>
/// <param name="Manifest">The outlier manifest (not yet written).</param>
/// <param name="Warnings">Analysis warnings (e.g. a site with more MA candidates than could be examined).</param>
/// <param name="Device">The device the forward passes ran on.</param>
/// <param name="Elapsed">Wall time of the whole analysis.</param>
/// <param name="Analysis">The activation analysis (calibration set, statistics, census, massive activations).</param>
/// <param name="Channels">The channel-outlier report (COs with causes, OTCs, norm profiles).</param>
public sealed record OutlierAnalysisResult(OutlierManifest Manifest, IReadOnlyList<string> Warnings, string Device, TimeSpan Elapsed,
    ActivationAnalysis Analysis, ChannelOutlierReport Channels);

/// <summary>
/// The whole <c>analyze</c> pipeline in the engine: calibration and probed forward passes with census and massive
/// activations (<see cref="AnalysisRunner"/>), a forward pass over the same calibration set recording per-channel
/// magnitude distributions for the channel-outlier rule (<see cref="ChannelMagnitudes"/>), channel outliers with their
/// γ / OTC attribution (<see cref="ChannelOutlierAnalyzer"/>), and the manifest (<see cref="ManifestBuilder"/>).
/// </summary>
public static class OutlierAnalysis
{
    /// <summary>The progress stage name of the channel-magnitude pass.</summary>
    public const string ChannelStage = "channels";

    /// <summary>Runs the analysis of <paramref name="folder"/> and builds its manifest.</summary>
    public static OutlierAnalysisResult Run(ModelFolder folder, CalibrationOptions calibration, AnalysisOptions options,
        ChannelOutlierOptions channelOptions, string toolVersion, IProgress<AnalysisProgress>? progress = null, CancellationToken ct = default)
        => Analyse(folder, options, channelOptions, toolVersion, progress, () => AnalysisRunner.Run(folder, calibration, options, progress, ct), ct);

    /// <summary>
    /// Analyses <paramref name="folder"/> on an existing calibration set (e.g. the same tokens again, on transformed
    /// weights seen through <see cref="ModelFolder.WithWeights"/>) and builds its manifest.
    /// </summary>
    public static OutlierAnalysisResult Run(ModelFolder folder, CalibrationSet calibration, AnalysisOptions options,
        ChannelOutlierOptions channelOptions, string toolVersion, IProgress<AnalysisProgress>? progress = null, CancellationToken ct = default)
        => Analyse(folder, options, channelOptions, toolVersion, progress, () => AnalysisRunner.Run(folder, calibration, options, progress, ct), ct);

    private static OutlierAnalysisResult Analyse(ModelFolder folder, AnalysisOptions options, ChannelOutlierOptions channelOptions,
        string toolVersion, IProgress<AnalysisProgress>? progress, Func<ActivationAnalysis> analyse, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(channelOptions);
        channelOptions.Validate();
        var watch = Stopwatch.StartNew();
        ActivationAnalysis analysis = analyse();
        return Complete(folder, analysis, options, channelOptions, toolVersion, progress, watch, ct);
    }

    private static OutlierAnalysisResult Complete(ModelFolder folder, ActivationAnalysis analysis, AnalysisOptions options,
        ChannelOutlierOptions channelOptions, string toolVersion, IProgress<AnalysisProgress>? progress, Stopwatch watch, CancellationToken ct)
    {
        ChannelMagnitudes magnitudes = ChannelMagnitudes.For(channelOptions);
        using (var llama = LlamaModel.Create(folder.Config, folder.Weights, options.Model))
            AnalysisRunner.RunBatches(llama, analysis.Calibration, magnitudes, options.BatchSize, ChannelStage, progress, watch, ct);
        ChannelOutlierReport channels = ChannelOutlierAnalyzer.Analyze(folder.Config, folder.Weights, analysis.Statistics, magnitudes, channelOptions, ct);
        OutlierManifest manifest = ManifestBuilder.Build(analysis, channelOptions, ManifestBuilder.Channels(channels), toolVersion, ct);
        return new OutlierAnalysisResult(manifest, analysis.Warnings, analysis.Device, watch.Elapsed, analysis, channels);
    }
}
