namespace Optimizer.Engine.Pipeline;

/// <summary>What <see cref="OptimizePipeline"/> writes.</summary>
public enum OutputFormat
{
    /// <summary>One GGUF file (llama.cpp) with the tokenizer metadata.</summary>
    Gguf,

    /// <summary>A Hugging Face folder: safetensors weights, config.json and the tokenizer files.</summary>
    Safetensors,
}

/// <summary>Ids of <see cref="OutputFormat"/> as written on the command line and in the manifest.</summary>
public static class OutputFormats
{
    /// <summary><c>gguf</c> or <c>safetensors</c>.</summary>
    public static string Id(OutputFormat format) => format == OutputFormat.Gguf ? "gguf" : "safetensors";

    /// <summary>Parses <c>gguf</c> / <c>safetensors</c> (case-insensitive).</summary>
    public static bool TryParse(string? text, out OutputFormat format)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "gguf":
                format = OutputFormat.Gguf;
                return true;
            case "safetensors":
                format = OutputFormat.Safetensors;
                return true;
            default:
                format = OutputFormat.Gguf;
                return false;
        }
    }
}
