using System.Collections.Concurrent;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Quantization;
using Optimizer.Fixtures;

namespace Optimizer.LlamaCpp.Tests;

/// <summary>
/// The models the tests judge (the trained fixture and synthetic presets) and their GGUF exports, each written once per
/// test run into one temporary folder that is deleted when the process exits.
/// </summary>
internal static class GgufExports
{
    /// <summary>The trained byte-level fixture.</summary>
    public const string Austen = "austen";

    /// <summary>A qwen2 synthetic model (q/k/v biases, no permutation), untied.</summary>
    public const string Qwen2 = "qwen2-biases";

    /// <summary>A qwen3 synthetic model (per-head q_norm/k_norm, explicit head_dim, no biases), tied.</summary>
    public const string Qwen3 = "qwen3-qk-norm";

    /// <summary>A llama synthetic model with Llama 3.1's RoPE scaling (llama.cpp's rope_freqs tensor), untied.</summary>
    public const string Llama3 = "llama3-rope-scaling";

    /// <summary>A llama synthetic model with tied embeddings (no output.weight in the GGUF).</summary>
    public const string Tied = "llama-tied";

    /// <summary>A llama synthetic model with an untied head and every planted outlier mechanism.</summary>
    public const string Untied = "llama-untied";

    /// <summary>A synthetic Gemma 2 model (soft-caps, sliding window 6, head_dim 64, planted BOS massive activation).</summary>
    public const string Gemma2 = "gemma2";

    /// <summary>A synthetic Gemma 3 text model (q/k norms, local/global RoPE with linear scaling, one global layer of six).</summary>
    public const string Gemma3 = "gemma3";

    private static readonly string Folder = CreateFolder();
    private static readonly ConcurrentDictionary<string, Lazy<string>> Models = new();
    private static readonly ConcurrentDictionary<string, Lazy<GgufExportResult>> Files = new();

    /// <summary>The HF model folder of <paramref name="model"/>.</summary>
    public static string ModelPath(string model) => Models.GetOrAdd(model, m => new Lazy<string>(() => Build(m))).Value;

    /// <summary>The GGUF export of <paramref name="model"/> with <paramref name="recipe"/>.</summary>
    public static GgufExportResult Export(string model, string recipe) =>
        Files.GetOrAdd(model + "." + recipe, _ => new Lazy<GgufExportResult>(() =>
        {
            using var folder = ModelFolder.Open(ModelPath(model));
            return LlamaGgufExporter.Export(folder, folder.Weights, QuantizationRecipe.Parse(recipe),
                Path.Combine(Folder, $"{model}.{recipe}.gguf"), null, CancellationToken.None);
        })).Value;

    private static string Build(string model)
    {
        if (model == Austen) return RepositoryPaths.AustenFixture;
        string folder = Directory.CreateDirectory(Path.Combine(Folder, model)).FullName;
        if (model is Gemma2 or Gemma3)
        {
            GemmaSyntheticModel.Write(model == Gemma2 ? GemmaSyntheticOptions.Gemma2Model() : GemmaSyntheticOptions.Gemma3Model(), folder);
            return folder;
        }
        var builder = model switch
        {
            Qwen2 => new SyntheticModelBuilder(SyntheticModelBuilder.Presets.AllThree(5, 64)).WithArchitecture(SyntheticArchitecture.Qwen2).WithTiedEmbeddings(false),
            Qwen3 => new SyntheticModelBuilder(SyntheticModelBuilder.Presets.AllThree(9, 64)).WithArchitecture(SyntheticArchitecture.Qwen3).WithTiedEmbeddings(true),
            Llama3 => new SyntheticModelBuilder(SyntheticModelBuilder.Presets.AllThree(10, 64)).WithRopeScaling(SyntheticModelBuilder.Llama3RopeScaling).WithTiedEmbeddings(false),
            Tied => new SyntheticModelBuilder(SyntheticModelBuilder.Presets.Clean(6, 64)).WithTiedEmbeddings(true),
            Untied => new SyntheticModelBuilder(SyntheticModelBuilder.Presets.AllThree(7, 64)).WithTiedEmbeddings(false),
            _ => throw new ArgumentException("Unknown model " + model, nameof(model)),
        };
        builder.Build(folder);
        return folder;
    }

    private static string CreateFolder()
    {
        string folder = Path.Combine(Path.GetTempPath(), "oopt-llamacpp-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        return folder;
    }
}
