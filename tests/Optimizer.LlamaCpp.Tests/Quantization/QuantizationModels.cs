using System.Runtime.CompilerServices;
using Optimizer.Engine.Formats;
using Optimizer.Fixtures;

namespace Optimizer.LlamaCpp.Tests.Quantization;

/// <summary>The models the byte-identity tests quantize: the trained fixture and synthetic models of chosen shapes.</summary>
internal static class QuantizationModels
{
    /// <summary>Model names accepted by <see cref="Open"/>.</summary>
    public static readonly string[] Names = { "austen", "synthetic", "gqa672", "h160", "phimini256" };

    /// <summary>
    /// Opens <paramref name="name"/>, synthetic models written into <paramref name="scratch"/>:
    /// <list type="bullet">
    /// <item><c>austen</c>: tests/fixtures/austen-byte-llama (6 layers, 8 heads over 4 key/value heads, tied embeddings,
    /// rows of 256 and 688: ffn_down is not whole blocks of 32, so legacy types are refused and K-quants fall back to F16).</item>
    /// <item><c>synthetic</c>: the AllThree preset at hidden 256 (4 layers, 8 over 4 heads, untied head), intermediate
    /// size 768: every row is whole K-quant blocks.</item>
    /// <item><c>gqa672</c>: AllThree at hidden 256 with 8 layers, 8 heads over 2 key/value heads (GQA 4: Q2_K's attn_v
    /// bump), untied, intermediate size 672 (ffn_down rows are whole blocks of 32 but not of 256: the K-quant → legacy
    /// fallbacks), 8 layers (n/8 = 1: Q4_K_S's and the imatrix Q4_0 ffn_down rules reach layer 0).</item>
    /// <item><c>h160</c>: AllThree at hidden 160 (10 heads of 16 over 2 key/value heads), 4 layers, intermediate 416,
    /// tied embeddings: no row is a whole K-quant block (the output rule's Q8_0 for the tied embedding, every fallback).</item>
    /// <item><c>phimini256</c>: AllThree at hidden 256 written as phi3 (fused qkv_proj/gate_up_proj; 8 heads over 4 key/value
    /// heads, partial_rotary_factor 0.75, longrope), intermediate 768: the fused attn_qkv rule and the fused ffn_up
    /// [2·768]. Its name avoids "phi3", which makes llama.cpp expect Phi-3's vocabulary (docs/model-families.md).</item>
    /// </list>
    /// </summary>
    public static ModelFolder Open(string name, string scratch)
    {
        SyntheticModelOptions options;
        switch (name)
        {
            case "austen":
                return ModelFolder.Open(Path.Combine(RepositoryRoot(), "tests", "fixtures", "austen-byte-llama"));
            case "synthetic":
                options = SyntheticModelBuilder.Presets.AllThree(seed: 3, hiddenSize: 256) with { IntermediateSize = 768 };
                break;
            case "gqa672":
                options = SyntheticModelBuilder.Presets.AllThree(seed: 5, hiddenSize: 256) with { Layers = 8, KeyValueHeads = 2, IntermediateSize = 672 };
                break;
            case "h160":
                options = SyntheticModelBuilder.Presets.AllThree(seed: 7, hiddenSize: 160) with { KeyValueHeads = 2, IntermediateSize = 416, TieWordEmbeddings = true };
                break;
            case "phimini256":
                options = SyntheticModelBuilder.Presets.AllThree(seed: 9, hiddenSize: 256) with
                {
                    IntermediateSize = 768, Architecture = SyntheticArchitecture.Phi3, PartialRotaryFactor = 0.75,
                    RopeScaling = SyntheticModelBuilder.LongropeScaling(12), MaxPositionEmbeddings = 16384,
                };
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown test model.");
        }
        string folder = Path.Combine(scratch, name);
        if (!Directory.Exists(folder))
            new SyntheticModelBuilder(options).Build(folder);
        return ModelFolder.Open(folder);
    }

    private static string RepositoryRoot([CallerFilePath] string source = "")
    {
        string? folder = Path.GetDirectoryName(source);
        while (folder is not null && !File.Exists(Path.Combine(folder, "Optimizer.sln"))) folder = Path.GetDirectoryName(folder);
        return folder ?? throw new InvalidOperationException($"No Optimizer.sln above {source}.");
    }
}
