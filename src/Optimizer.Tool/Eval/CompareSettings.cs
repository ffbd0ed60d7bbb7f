using Optimizer.Engine.Calibration;

namespace Optimizer.Tool.Eval;

/// <summary>
/// What <c>eval</c> compares the model with: another model (<see cref="ComparePath"/>), its weights quantized
/// (<see cref="Weights"/>), and fake-quantized activations (one candidate per <see cref="Activations"/> entry), with the
/// calibration used for static activation scales.
/// </summary>
public sealed record CompareSettings(
    string? ComparePath,
    WeightScheme? Weights,
    IReadOnlyList<ActivationScheme> Activations,
    CalibrationOptions Calibration)
{
    /// <summary>True when there is anything to compare with (otherwise eval only measures perplexity).</summary>
    public bool Any => ComparePath is not null || Weights is not null || Activations.Count > 0;

    /// <summary>True when a static scheme needs calibrated ranges.</summary>
    public bool NeedsCalibration => Activations.Any(a => a.Mode == Engine.Evaluation.ActivationQuantMode.PerTensorStatic);
}
