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
    IReadOnlyList<TensorInfo> Tensors,
    IReadOnlyDictionary<string, ModelSummary.Storage> Stored)
{
    /// <summary>How a tensor is stored: the file's element type name (F32, BF16, Q8_0 …) and its bytes in the file.</summary>
    public sealed record Storage(string Type, long Bytes);

    /// <summary>How <paramref name="tensor"/> is stored.</summary>
    public Storage StorageOf(TensorInfo tensor) => Stored[tensor.Name];

    /// <summary>One file of the folder: its name relative to the folder (forward slashes) and size.</summary>
    public sealed record FileRow(string Name, long Bytes);

    /// <summary>How many tensors, elements and bytes are stored in one element type.</summary>
    public sealed record DTypeRow(string DType, int Tensors, long Elements, long Bytes);

    /// <summary>Total size of the files.</summary>
    public long TotalBytes => Files.Sum(f => f.Bytes);

    /// <summary>
    /// Builds a summary; files are sorted by name (ordinal), tensors by name with layer numbers in numeric order
    /// (<see cref="Cli.NaturalStringComparer"/>), dtypes by their name, so that the output depends only on the model.
    /// </summary>
    public static ModelSummary Create(string name, ModelConfig config, long parameterCount, string tokenizerKind,
        IEnumerable<FileRow> files, IEnumerable<TensorInfo> tensors, Func<TensorInfo, Storage>? storage = null)
    {
        storage ??= t => new Storage(Engine.Formats.DTypes.SafetensorsName(t.DType), t.Length);
        var sortedTensors = tensors.OrderBy(t => t.Name, Cli.NaturalStringComparer.Instance).ToList();
        var stored = sortedTensors.ToDictionary(t => t.Name, storage, StringComparer.Ordinal);
        var dtypes = sortedTensors
            .GroupBy(t => stored[t.Name].Type)
            .Select(g => new DTypeRow(g.Key, g.Count(), g.Sum(t => t.ElementCount), g.Sum(t => stored[t.Name].Bytes)))
            .OrderBy(r => r.DType, StringComparer.Ordinal)
            .ToList();
        var sortedFiles = files.OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        return new ModelSummary(name, config, parameterCount, tokenizerKind, sortedFiles, dtypes, sortedTensors, stored);
    }
}
