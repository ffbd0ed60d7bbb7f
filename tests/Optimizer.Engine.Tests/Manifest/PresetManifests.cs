using Optimizer.Engine.Calibration;
using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Manifest;
using Optimizer.Engine.Tests.Fixtures;
using System.Text;

namespace Optimizer.Engine.Tests.Manifest;

/// <summary>Runs the whole analyze pipeline on a model folder and returns the manifest text (fixed tool version, so snapshots do not follow version bumps).</summary>
internal static class PresetManifests
{
    public const string TestVersion = "0.0.0-test";

    /// <summary>The calibration text file name (the manifest records it by name only, as it is given by absolute path).</summary>
    public const string CalibrationFileName = "calibration.txt";

    /// <summary>
    /// Analyses <paramref name="folder"/> with a text calibration: <see cref="CalibrationTokens.Text"/> (written next to
    /// the model folder) in 4 sequences of 48 tokens, BOS first.
    /// </summary>
    public static (OutlierManifest Manifest, string Text) Analyze(string folder, AnalysisOptions? options = null)
    {
        string text = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(folder))!, CalibrationFileName);
        if (!File.Exists(text)) File.WriteAllText(text, CalibrationTokens.Text, new UTF8Encoding(false));
        var calibration = new CalibrationOptions { Paths = new[] { text }, SequenceLength = 48, Tokens = 4 * 48 };
        return Analyze(folder, calibration, options);
    }

    public static (OutlierManifest Manifest, string Text) Analyze(string folder, CalibrationOptions calibration, AnalysisOptions? options = null)
    {
        using var model = ModelFolder.Open(folder);
        OutlierAnalysisResult result = OutlierAnalysis.Run(model, calibration, options ?? new AnalysisOptions(), new ChannelOutlierOptions(), TestVersion);
        return (result.Manifest, ManifestWriter.ToText(result.Manifest));
    }
}
