using Optimizer.Engine.Diagnostics;

namespace Optimizer.MitigationStudy;

/// <summary>
/// One model of the study: its label, Hugging Face folder, calibration text files (empty = text sampled from the model
/// with the calibration seed), held-out evaluation text (null = text sampled from the model with the evaluation seed)
/// and the massive-activation mode of the analysis that plans the mitigations.
/// </summary>
public sealed record StudyModel(string Label, string Folder, IReadOnlyList<string> Calibration, string? EvalText, MassiveActivationMode MaMode)
{
    /// <summary>The manifest id of <see cref="MaMode"/>.</summary>
    public string MaModeId => MaMode == MassiveActivationMode.Absolute ? "absolute" : "scale-free";
}
