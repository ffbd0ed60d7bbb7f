namespace Optimizer.Engine.Calibration;

/// <summary>One calibration text file as the manifest records it.</summary>
/// <param name="Path">The path as given when relative, else relative to the given folder or the file name only (<c>/</c> separators).</param>
/// <param name="Bytes">File size in bytes.</param>
/// <param name="Sha256">SHA-256 of the file, lower-case hex.</param>
public sealed record CalibrationFile(string Path, long Bytes, string Sha256);
