using Optimizer.Engine.Formats;

namespace Optimizer.Tool.Tests;

/// <summary>
/// Writes a small, complete Llama-architecture model folder (config.json, model.safetensors, byte-level tokenizer) with
/// deterministic pseudo-random weights, into a fresh temporary folder that is deleted on dispose.
/// </summary>
public sealed class TinyModel : IDisposable
{
    private TinyModel(string root, string folder, ModelConfig config)
    {
        Root = root;
        Folder = folder;
        Config = config;
    }

    /// <summary>A temporary folder owned by this instance (the model folder is inside it).</summary>
    public string Root { get; }

    /// <summary>The model folder.</summary>
    public string Folder { get; }

    public ModelConfig Config { get; }

    /// <summary>
    /// Writes a model with the given sizes; the vocabulary is the 257-token byte-level one. <paramref name="editWeights"/>
    /// may change a tensor's values (by name) before it is written.
    /// </summary>
    public static TinyModel Create(int hidden = 32, int layers = 2, int heads = 4, int kvHeads = 2, int intermediate = 64,
        bool tied = true, bool bos = true, int seed = 1234, Action<string, float[]>? editWeights = null)
    {
        string root = Path.Combine(Path.GetTempPath(), "outlier-opt-tool-tests", Guid.NewGuid().ToString("N"));
        string folder = Path.Combine(root, "tiny-llama");
        Directory.CreateDirectory(folder);
        var config = new ModelConfig
        {
            Architectures = new[] { "LlamaForCausalLM" },
            ModelType = "llama",
            VocabSize = ByteLevelVocabulary.Size,
            HiddenSize = hidden,
            IntermediateSize = intermediate,
            NumHiddenLayers = layers,
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            RmsNormEps = 1e-5,
            RopeTheta = 10000,
            MaxPositionEmbeddings = 512,
            TieWordEmbeddings = tied,
            BosTokenId = bos ? ByteLevelVocabulary.BosId : null,
            TorchDtype = "float32",
        };
        var random = new Random(seed);
        var entries = new List<SafetensorsEntry>();
        foreach (var (role, _, name, shape) in LlamaTensorNames.Expected(config))
        {
            long count = shape.Aggregate(1L, (a, b) => a * b);
            var data = new float[count];
            bool isNorm = role is TensorRole.AttnNorm or TensorRole.FfnNorm or TensorRole.FinalNorm;
            float scale = role == TensorRole.TokenEmbedding ? 0.5f : 1f / MathF.Sqrt(shape[^1]);
            for (long i = 0; i < count; i++)
                data[i] = isNorm ? 1f + 0.05f * (float)(random.NextDouble() - 0.5) : scale * (float)(random.NextDouble() * 2 - 1);
            editWeights?.Invoke(name, data);
            entries.Add(SafetensorsEntry.FromFloats(name, data, shape));
        }
        SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), entries);
        AtomicFile.WriteText(Path.Combine(folder, "config.json"), config.ToJson());
        ByteLevelVocabulary.WriteTokenizerFiles(folder);
        return new TinyModel(root, folder, config);
    }

    /// <summary>Writes <paramref name="text"/> (UTF-8) to a file beside the model and returns its path.</summary>
    public string WriteText(string name, string text)
    {
        string path = Path.Combine(Root, name);
        File.WriteAllText(path, text, new System.Text.UTF8Encoding(false));
        return path;
    }

    /// <summary>Writes raw bytes to a file beside the model and returns its path.</summary>
    public string WriteBytes(string name, byte[] bytes)
    {
        string path = Path.Combine(Root, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Files in <see cref="Root"/> (recursively), relative, sorted: to check that nothing partial was left.</summary>
    public IReadOnlyList<string> ListFiles() =>
        Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(Root, p).Replace('\\', '/'))
            .OrderBy(p => p, StringComparer.Ordinal)
            .ToList();

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A process that still holds a file (killed tool) must not fail the test run.
        }
    }
}
