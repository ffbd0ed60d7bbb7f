using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Engine.Tests.Model;

namespace Optimizer.Engine.Tests.HfExport;

/// <summary>
/// Small random Llama folders for export tests: byte-level vocabulary (257) so the real tokenizer files can be copied,
/// untied head, q/k/v/o biases, an intermediate width (48) that is not a multiple of the int4 groups, and a config.json
/// with a key the engine does not bind (it must survive the export).
/// </summary>
internal static class ExportModels
{
    public static readonly ModelSpec Spec = new("export", Vocab: ByteLevelVocabulary.Size, Hidden: 32, Intermediate: 48, Layers: 2,
        Heads: 4, KvHeads: 2, AttentionBias: true, Bos: ByteLevelVocabulary.BosId);

    /// <summary>Writes the model into <paramref name="folder"/> and returns its weights (F32, in memory).</summary>
    public static InMemoryTensorSource Write(string folder, int seed = 7, Action<TensorRole, int, float[]>? edit = null)
    {
        Directory.CreateDirectory(folder);
        var source = RandomModels.Build(Spec, seed, edit);
        string config = RandomModels.Config(Spec).ToJson();
        File.WriteAllText(Path.Combine(folder, "config.json"), config.Insert(config.IndexOf('{') + 1, "\n  \"initializer_range\": 0.02,"));
        SafetensorsWriter.Write(Path.Combine(folder, SafetensorsCheckpoint.SingleFileName),
            source.Tensors.Select(t => SafetensorsEntry.FromBytes(t.Name, t.DType, source.RawBytes(t.Name), t.Shape)));
        ByteLevelVocabulary.WriteTokenizerFiles(folder);
        return source;
    }

    /// <summary>The logits of <paramref name="weights"/> under the export model's config on a fixed batch.</summary>
    public static float[] Logits(ModelConfig config, ITensorSource weights)
    {
        using var model = LlamaModel.Create(config, weights, new ModelOptions());
        using var logits = model.Forward(RandomModels.Tokens(Spec.Vocab, 2, 9, seed: 3));
        return logits.data<float>().ToArray();
    }

    /// <summary>Every entry directly inside <paramref name="folder"/> (files and folders, names only, sorted).</summary>
    public static string[] Listing(string folder) =>
        Directory.EnumerateFileSystemEntries(folder).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToArray();
}
