using Optimizer.Engine;
using Optimizer.Engine.Formats;

namespace Optimizer.Tool.Inspect;

/// <summary>Opens a model folder with <see cref="ModelFolder.Open"/> and collects its <see cref="ModelSummary"/>.</summary>
public static class ModelSummaryReader
{
    /// <summary>The kind shown when the folder has no tokenizer file.</summary>
    public const string NoTokenizer = "none";

    /// <summary>
    /// Reads the summary of the model at <paramref name="path"/>. A folder without a tokenizer is summarized with
    /// tokenizer <see cref="NoTokenizer"/>; every other problem is an <see cref="OptimizerException"/> naming the file.
    /// </summary>
    public static ModelSummary Read(string path)
    {
        using var folder = ModelFolder.Open(path);
        string tokenizer;
        try
        {
            var t = folder.Tokenizer;
            tokenizer = $"{t.Kind} ({System.IO.Path.GetFileName(t.File)}, {t.VocabSize} tokens)";
        }
        catch (OptimizerException ex) when (ex.Code == ErrorCodes.TokenizerMissing)
        {
            tokenizer = NoTokenizer;
        }
        string name = folder.Name;
        return ModelSummary.Create(
            name,
            folder.Config,
            folder.ParameterCount,
            tokenizer,
            folder.Files.Select(f => new ModelSummary.FileRow(f.RelativePath.Replace('\\', '/'), f.Size)),
            folder.Weights.Tensors,
            // A GGUF model's tensors are read as floats (Q8_0 dequantized); inspect shows how the file stores them.
            folder.Weights is Engine.Formats.Gguf.GgufTensorSource gguf
                ? t => gguf.Stored(t.Name) is { } s ? new ModelSummary.Storage(s.TypeName, s.ByteCount) : new ModelSummary.Storage(DTypes.SafetensorsName(t.DType), t.Length)
                : null);
    }
}
