using Optimizer.Engine.Calibration;
using Optimizer.Engine.Diagnostics.MassiveActivations;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics;

/// <summary>
/// The result of an analysis run (<see cref="AnalysisRunner"/>): the model folder it ran on (kept open by the caller;
/// read γ and W_q through <see cref="Weights"/> with <see cref="TensorData.ReadFloat32"/>), the calibration set, the
/// raw per-site statistics (every layer and site, per-token medians everywhere), the census (D1) and the MA findings
/// (D2). Channel-outlier analysis and the manifest writer consume it.
/// </summary>
public sealed class ActivationAnalysis
{
    /// <summary>Creates a result.</summary>
    public ActivationAnalysis(ModelFolder model, CalibrationSet calibration, AnalysisOptions options, ActivationStatistics statistics,
        IReadOnlyList<SiteCensus> census, MassiveActivationReport massiveActivations, IReadOnlyList<string> warnings, string device)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Calibration = calibration ?? throw new ArgumentNullException(nameof(calibration));
        Options = options ?? throw new ArgumentNullException(nameof(options));
        Statistics = statistics ?? throw new ArgumentNullException(nameof(statistics));
        Census = census ?? throw new ArgumentNullException(nameof(census));
        MassiveActivations = massiveActivations ?? throw new ArgumentNullException(nameof(massiveActivations));
        Warnings = warnings ?? throw new ArgumentNullException(nameof(warnings));
        Device = device ?? throw new ArgumentNullException(nameof(device));
    }

    /// <summary>The model folder (config, weights, tokenizer, files); owned by the caller.</summary>
    public ModelFolder Model { get; }

    /// <summary>The model's configuration.</summary>
    public ModelConfig Config => Model.Config;

    /// <summary>The model's weights (valid while <see cref="Model"/> is open).</summary>
    public ITensorSource Weights => Model.Weights;

    /// <summary>The calibration tokens and their provenance.</summary>
    public CalibrationSet Calibration { get; }

    /// <summary>The options the run used.</summary>
    public AnalysisOptions Options { get; }

    /// <summary>
    /// Raw streaming statistics of every (layer, site): per-channel max/mean |x| profiles, per-token max and median
    /// |x|, the top <see cref="AnalysisOptions.StatisticsTopK"/> entries, histograms.
    /// </summary>
    public ActivationStatistics Statistics { get; }

    /// <summary>One entry per (layer, site), layer-major, sites in forward order.</summary>
    public IReadOnlyList<SiteCensus> Census { get; }

    /// <summary>Massive activations, births, propagation, super weights, near-threshold candidates.</summary>
    public MassiveActivationReport MassiveActivations { get; }

    /// <summary>Things a reader should know (e.g. a site whose extreme entries could not all be listed).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The device the forward passes ran on.</summary>
    public string Device { get; }
}
