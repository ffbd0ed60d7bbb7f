namespace Optimizer.Engine.Formats.HfExport;

/// <summary>A file the export wrote: its path relative to the output folder, its size and its SHA-256 (lowercase hex).</summary>
public sealed record HfExportFile(string RelativePath, long Bytes, string Sha256);
