using LLama;
using LLama.Common;
using LLama.Sampling;

namespace ConsumerApp;

/// <summary>Continues a prompt with a GGUF model through llama.cpp (LLamaSharp, CPU backend), streaming the text.</summary>
public static class TextGenerator
{
    /// <summary>Fixed so that the sample prints the same text on every run.</summary>
    public const uint Seed = 1813;

    public static async Task GenerateAsync(string ggufPath, string prompt, int maxTokens, TextWriter output)
    {
        var parameters = new ModelParams(ggufPath)
        {
            ContextSize = 1024,
            GpuLayerCount = 0,
        };
        using var weights = LLamaWeights.LoadFromFile(parameters);
        var executor = new StatelessExecutor(weights, parameters);
        var inference = new InferenceParams
        {
            MaxTokens = maxTokens,
            SamplingPipeline = new DefaultSamplingPipeline { Temperature = 0.7f, TopK = 40, TopP = 0.95f, Seed = Seed },
        };
        await foreach (string piece in executor.InferAsync(prompt, inference))
        {
            output.Write(piece);
        }
        output.Flush();
    }
}
