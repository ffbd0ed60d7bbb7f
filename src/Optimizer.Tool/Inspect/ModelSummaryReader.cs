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
            // phi3's q/k/v and gate/up are row ranges of a stored attn_qkv / ffn_up: they show its type and their rows' bytes.
            ((folder.Weights as FusedTensorSource)?.Inner ?? folder.Weights) is Engine.Formats.Gguf.GgufTensorSource gguf
                ? t => StoredOf(gguf, t, folder.Config) ?? new ModelSummary.Storage(DTypes.SafetensorsName(t.DType), t.Length)
                : null);
    }

    private static ModelSummary.Storage? StoredOf(Engine.Formats.Gguf.GgufTensorSource gguf, TensorInfo tensor, ModelConfig config)
    {
        if (gguf.Stored(tensor.Name) is { } stored) return new ModelSummary.Storage(stored.TypeName, stored.ByteCount);
        if (!config.HasFusedProjections) return null;
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            foreach (var role in new[] { TensorRole.Q, TensorRole.K, TensorRole.V, TensorRole.Gate, TensorRole.Up })
            {
                if (LlamaTensorNames.Name(role, layer) == tensor.Name && gguf.Stored(Phi3Names.FusedName(role, layer)!) is { } fused)
                    return new ModelSummary.Storage(fused.TypeName, fused.ByteCount / fused.Shape[0] * tensor.Shape[0]);
            }
        }
        return null;
    }
}
