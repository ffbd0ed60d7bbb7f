using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Formats.Gguf;

/// <summary>One tensor a GGUF export wrote: its GGUF and Hugging Face names, type, bytes and the relative RMSE of its encoding.</summary>
public sealed record GgufExportedTensor(string Name, string SourceName, GgmlType Type, long Bytes, double RelativeRmse);

/// <summary>What a GGUF export wrote: the file, its size and SHA-256, the llama.cpp file type, and every tensor.</summary>
public sealed record GgufExportResult(string Path, long FileBytes, string Sha256, LlamaFileType FileType, IReadOnlyList<GgufExportedTensor> Tensors);

/// <summary>Progress of a GGUF export: tensor <see cref="Index"/> (0-based) of <see cref="Count"/> was written.</summary>
public sealed record GgufExportProgress(int Index, int Count, string Name, GgmlType Type);
