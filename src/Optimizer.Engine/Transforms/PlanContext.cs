using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Transforms;

/// <summary>What the planners share: the analysis, the channel report, the options and the layer transforms being built.</summary>
internal sealed class PlanContext
{
    public PlanContext(ActivationAnalysis analysis, ChannelOutlierReport channels, TransformOptions options)
    {
        Analysis = analysis;
        Channels = channels;
        Options = options;
        Config = analysis.Config;
        Layers = Enumerable.Range(0, Config.NumHiddenLayers).Select(l => new LayerTransform(l)).ToArray();
    }

    public ActivationAnalysis Analysis { get; }
    public ChannelOutlierReport Channels { get; }
    public TransformOptions Options { get; }
    public ModelConfig Config { get; }
    public LayerTransform[] Layers { get; }

    private CalibrationSample? _sample;

    /// <summary>
    /// The calibration sample of the linear inputs (collected on first use with one more forward pass over the
    /// calibration; at most <see cref="TransformOptions.SampleTokens"/> tokens; docs/smoothing.md).
    /// </summary>
    public CalibrationSample Sample => _sample ??= CalibrationSample.Collect(Analysis, Options.SampleTokens);

    /// <summary>The statistics of (<paramref name="layer"/>, <paramref name="site"/>); the analysis records every site.</summary>
    public SiteStatistics Site(int layer, ProbeSite site) =>
        Analysis.Statistics.TryGet(layer, site, out var stats) && stats!.TokenCount > 0
            ? stats
            : throw new ArgumentException($"The analysis has no statistics for layer {layer}, site {ProbeSites.Id(site)}.", "analysis");

    /// <summary>The MA magnitude threshold at (<paramref name="layer"/>, <paramref name="site"/>), or NaN when the report has none.</summary>
    public double MagnitudeThreshold(int layer, ProbeSite site)
    {
        foreach (var t in Analysis.MassiveActivations.Thresholds)
            if (t.Layer == layer && t.Site == site) return t.Magnitude;
        return double.NaN;
    }

    /// <summary>A layer tensor of the original weights as floats, checked against its expected element count.</summary>
    public float[] Read(TensorRole role, int layer)
    {
        string name = LlamaTensorNames.Name(role, layer, Config);
        var info = Analysis.Weights.Find(name) ?? throw new OptimizerException(ErrorCodes.TensorMissing, $"The model has no tensor '{name}'.");
        long expected = LlamaTensorNames.ExpectedShape(role, Config).Aggregate(1L, (a, b) => a * b);
        if (info.ElementCount != expected)
            throw new OptimizerException(ErrorCodes.TensorShapeMismatch, $"Tensor '{name}' has {info.ElementCount} elements; the configuration implies {expected}.", info.File);
        return TensorData.ReadFloat32(Analysis.Weights, info);
    }
}
