namespace Optimizer.Engine.Formats;

/// <summary>A file of a model folder: its path relative to the folder and its size in bytes.</summary>
public sealed record ModelFileEntry(string RelativePath, long Size);
