namespace Optimizer.Engine.Formats.HfExport;

/// <summary>What <see cref="HfFolderExporter.Export"/> wrote.</summary>
public sealed record HfExportResult
{
    /// <summary>The full path of the output folder.</summary>
    public required string Folder { get; init; }

    /// <summary>Every file in the folder, sorted by relative path (ordinal).</summary>
    public required IReadOnlyList<HfExportFile> Files { get; init; }

    /// <summary>Every model tensor in the order of the model's tensor table (model-level first, then layer by layer).</summary>
    public required IReadOnlyList<HfExportTensor> Tensors { get; init; }

    /// <summary>The tokenizer files copied from the source model (relative paths; empty when it had none).</summary>
    public required IReadOnlyList<string> TokenizerFiles { get; init; }

    /// <summary>Total bytes of all files.</summary>
    public long TotalBytes => Files.Sum(f => f.Bytes);
}
