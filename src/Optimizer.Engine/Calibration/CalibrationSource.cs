namespace Optimizer.Engine.Calibration;

/// <summary>The provenance of a <see cref="CalibrationSet"/> (manifest <c>calibration.source/files/seed/sampling</c>).</summary>
/// <param name="Kind">Text files or self-sampled.</param>
/// <param name="Files">For <see cref="CalibrationSourceKind.Text"/>: the files read, in reading order (sorted by path); empty otherwise.</param>
/// <param name="Seed">For self-sampled text: the seed; null for text.</param>
/// <param name="Sampling">For self-sampled text: the sampling parameters; null for text.</param>
public sealed record CalibrationSource(CalibrationSourceKind Kind, IReadOnlyList<CalibrationFile> Files, ulong? Seed, SamplingParameters? Sampling)
{
    /// <summary>The manifest id: <c>text</c> or <c>self-sampled</c>.</summary>
    public string Id => Kind == CalibrationSourceKind.Text ? "text" : "self-sampled";
}
