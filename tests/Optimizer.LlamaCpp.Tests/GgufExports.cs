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

    // The phi3 models' names avoid "phi3" and "phi-3": llama.cpp gives a model whose general.name contains them the
    // token attributes of Phi-3's vocabulary and fails to load one without "</s>" (docs/model-families.md, "Phi-3").

    /// <summary>A Phi-3-mini-like phi3 synthetic model (fused qkv/gate_up, sliding_window 2047 ≥ every sequence run, every plant), untied.</summary>
    public const string Phi3 = "phimini-fused";

    /// <summary>A Phi-4-mini-like phi3 synthetic model (GQA, partial_rotary_factor 0.75, longrope, max context 16384), tied.</summary>
    public const string Phi4 = "phi4-mini";

    /// <summary>A phi3 synthetic model with a sliding window of 5 tokens (which llama.cpp ignores for phi3).</summary>
    public const string Phi3Window = "phimini-window-5";

    /// <summary>A phi3 synthetic model with longrope, original context 2048 and max 8192 (attention factor 1.087).</summary>
    public const string Phi3Longrope = "phimini-longrope";

    /// <summary>A qwen3 synthetic model with YaRN RoPE scaling (factor 4 over an original context of 64), untied.</summary>
    public const string Qwen3Yarn = "qwen3-yarn";

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
            Qwen3Yarn => new SyntheticModelBuilder(SyntheticModelBuilder.Presets.AllThree(12, 64)).WithArchitecture(SyntheticArchitecture.Qwen3)
                .WithRopeScaling("""{"rope_type":"yarn","factor":4.0,"original_max_position_embeddings":64}""").WithTiedEmbeddings(false),
            Llama3 => new SyntheticModelBuilder(SyntheticModelBuilder.Presets.AllThree(10, 64)).WithRopeScaling(SyntheticModelBuilder.Llama3RopeScaling).WithTiedEmbeddings(false),
            Phi3 => new SyntheticModelBuilder(SyntheticModelBuilder.Presets.AllThree(14, 64)).WithArchitecture(SyntheticArchitecture.Phi3).WithTiedEmbeddings(false)
                .WithPhi3Keys(slidingWindow: 2047, originalMaxPositionEmbeddings: 4096).WithMaxPositionEmbeddings(4096),
            Phi4 => new SyntheticModelBuilder(SyntheticModelBuilder.Presets.MassiveActivationOnly(15, 64)).WithShape(64, 4, 4, 2)
                .WithArchitecture(SyntheticArchitecture.Phi3).WithTiedEmbeddings(true).WithPhi3Keys(partialRotaryFactor: 0.75)
                .WithRopeScaling(SyntheticModelBuilder.LongropeScaling(6)).WithMaxPositionEmbeddings(16384),
            Phi3Window => new SyntheticModelBuilder(SyntheticModelBuilder.Presets.Clean(16, 64)).WithArchitecture(SyntheticArchitecture.Phi3).WithPhi3Keys(slidingWindow: 5),
            Phi3Longrope => new SyntheticModelBuilder(SyntheticModelBuilder.Presets.Clean(17, 64)).WithArchitecture(SyntheticArchitecture.Phi3)
                .WithPhi3Keys(originalMaxPositionEmbeddings: 2048).WithRopeScaling(SyntheticModelBuilder.LongropeScaling(8)).WithMaxPositionEmbeddings(8192),
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
