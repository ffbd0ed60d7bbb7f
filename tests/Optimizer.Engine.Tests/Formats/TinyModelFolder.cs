using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Formats;

/// <summary>Writes a tiny Llama model folder (config, weights, byte-level tokenizer) with optional defects.</summary>
internal static class TinyModelFolder
{
    public static ModelConfig Config() => new()
    {
        Architectures = new[] { "LlamaForCausalLM" }, ModelType = "llama", VocabSize = ByteLevelVocabulary.Size, HiddenSize = 8,
        IntermediateSize = 16, NumHiddenLayers = 2, NumAttentionHeads = 2, NumKeyValueHeads = 1, BosTokenId = ByteLevelVocabulary.BosId,
        TieWordEmbeddings = false,
    };

    /// <summary>
    /// Every tensor the config requires, as F32 (or <paramref name="dtype"/>); <paramref name="edit"/> may change a
    /// tensor's type and shape, and an empty shape for a non-scalar tensor drops it.
    /// </summary>
    public static List<SafetensorsEntry> Entries(ModelConfig config, DType dtype = DType.F32, Func<string, long[], (DType, long[])?>? edit = null)
    {
        var entries = new List<SafetensorsEntry>();
        foreach (var (_, _, name, shape) in LlamaTensorNames.Expected(config))
        {
            var (type, actualShape) = edit?.Invoke(name, shape) ?? (dtype, shape);
            if (actualShape.Length == 0 && shape.Length != 0) continue;
            long count = actualShape.Aggregate(1L, (a, b) => a * b);
            var bytes = new byte[count * DTypes.SizeOf(type)];
            for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)(i * 7 + name.Length);
            entries.Add(SafetensorsEntry.FromBytes(name, type, bytes, actualShape));
        }
        return entries;
    }

    public static void Write(string folder, ModelConfig? config = null, IEnumerable<SafetensorsEntry>? entries = null, bool tokenizer = true)
    {
        config ??= Config();
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJson());
        SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), entries ?? Entries(config));
        if (tokenizer) ByteLevelVocabulary.WriteTokenizerFiles(folder);
    }
}
