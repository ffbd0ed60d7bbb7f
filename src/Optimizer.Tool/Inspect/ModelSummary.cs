using Optimizer.Engine.Formats;

namespace Optimizer.Tool.Inspect;

/// <summary>
/// Everything <c>inspect</c> reports about a model folder, in a stable order: the architecture from config.json, the
/// parameter count, a per-dtype summary, the files with their sizes, the tokenizer kind and every stored tensor.
/// The text and JSON renderings are built from this one object so that they always agree.
/// </summary>
public sealed record ModelSummary(
    string Name,
    ModelConfig Config,
    long ParameterCount,
    string TokenizerKind,
    IReadOnlyList<ModelSummary.FileRow> Files,
    IReadOnlyList<ModelSummary.DTypeRow> DTypes,
    IReadOnlyList<TensorInfo> Tensors)
{
    /// <summary>One file of the folder: its name relative to the folder (forward slashes) and size.</summary>
    public sealed record FileRow(string Name, long Bytes);

    /// <summary>How many tensors, elements and bytes are stored in one element type.</summary>
    public sealed record DTypeRow(DType DType, int Tensors, long Elements, long Bytes);

    /// <summary>Total size of the files.</summary>
    public long TotalBytes => Files.Sum(f => f.Bytes);

    /// <summary>
    /// Builds a summary; files are sorted by name (ordinal), tensors by name with layer numbers in numeric order
    /// (<see cref="Cli.NaturalStringComparer"/>), dtypes by their name, so that the output depends only on the model.
    /// </summary>
    public static ModelSummary Create(string name, ModelConfig config, long parameterCount, string tokenizerKind,
        IEnumerable<FileRow> files, IEnumerable<TensorInfo> tensors)
    {
        var sortedTensors = tensors.OrderBy(t => t.Name, Cli.NaturalStringComparer.Instance).ToList();
        var dtypes = sortedTensors
            .GroupBy(t => t.DType)
            .Select(g => new DTypeRow(g.Key, g.Count(), g.Sum(t => t.ElementCount), g.Sum(t => t.Length)))
            .OrderBy(r => Engine.Formats.DTypes.SafetensorsName(r.DType), StringComparer.Ordinal)
            .ToList();
        var sortedFiles = files.OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        return new ModelSummary(name, config, parameterCount, tokenizerKind, sortedFiles, dtypes, sortedTensors);
    }
}
