using System.Runtime.CompilerServices;
using Optimizer.Engine.Formats;
using Optimizer.Fixtures;

namespace Optimizer.LlamaCpp.Tests.Quantization;

/// <summary>The models the byte-identity tests quantize: the trained fixture and a synthetic preset.</summary>
internal static class QuantizationModels
{
    /// <summary>Model names accepted by <see cref="Open"/>.</summary>
    public static readonly string[] Names = { "austen", "synthetic" };

    /// <summary>
    /// Opens <paramref name="name"/>: <c>austen</c> is tests/fixtures/austen-byte-llama (tied embeddings, rows of 256 and
    /// 688); <c>synthetic</c> is the AllThree preset at hidden 256 with an untied head and an intermediate size of 768
    /// (all rows whole K-quant blocks), written into <paramref name="scratch"/>.
    /// </summary>
    public static ModelFolder Open(string name, string scratch)
    {
        switch (name)
        {
            case "austen":
                return ModelFolder.Open(Path.Combine(RepositoryRoot(), "tests", "fixtures", "austen-byte-llama"));
            case "synthetic":
                string folder = Path.Combine(scratch, "synthetic");
                var options = SyntheticModelBuilder.Presets.AllThree(seed: 3, hiddenSize: 256) with { IntermediateSize = 768 };
                new SyntheticModelBuilder(options).Build(folder);
                return ModelFolder.Open(folder);
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown test model.");
        }
    }

    private static string RepositoryRoot([CallerFilePath] string source = "")
    {
        string? folder = Path.GetDirectoryName(source);
        while (folder is not null && !File.Exists(Path.Combine(folder, "Optimizer.sln"))) folder = Path.GetDirectoryName(folder);
        return folder ?? throw new InvalidOperationException($"No Optimizer.sln above {source}.");
    }
}
