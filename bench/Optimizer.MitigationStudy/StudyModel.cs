namespace Optimizer.MitigationStudy;

/// <summary>
/// One model of the study: its label, Hugging Face folder, calibration text files (empty = text sampled from the model
/// with the calibration seed) and held-out evaluation text (null = text sampled from the model with the evaluation seed).
/// </summary>
public sealed record StudyModel(string Label, string Folder, IReadOnlyList<string> Calibration, string? EvalText);
