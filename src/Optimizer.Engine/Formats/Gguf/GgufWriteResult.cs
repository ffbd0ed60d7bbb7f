namespace Optimizer.Engine.Formats.Gguf;

/// <summary>What <see cref="GgufWriter.Write"/> wrote: the full path, the file size and its SHA-256 (lowercase hex).</summary>
public sealed record GgufWriteResult(string Path, long Bytes, string Sha256);
