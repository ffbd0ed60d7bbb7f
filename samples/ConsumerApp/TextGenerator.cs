using System.Collections.Concurrent;
using LLama;
using LLama.Common;
using LLama.Native;
using LLama.Sampling;

namespace ConsumerApp;

/// <summary>
/// Continues a prompt with a GGUF model through llama.cpp (LLamaSharp, CPU backend), streaming the text. llama.cpp's own
/// log is kept in memory and shown only when loading fails.
/// </summary>
public static class TextGenerator
{
    /// <summary>Fixed so that the sample prints the same text on every run.</summary>
    public const uint Seed = 1813;

    private static readonly ConcurrentQueue<string> Log = new();

    public static async Task GenerateAsync(string ggufPath, string prompt, int maxTokens, TextWriter output)
    {
        NativeLibraryConfig.All.WithLogCallback((level, message) =>
        {
            Log.Enqueue($"[{level}] {message}");
            while (Log.Count > 100 && Log.TryDequeue(out _))
            {
            }
        });
        var parameters = new ModelParams(ggufPath)
        {
            ContextSize = 1024,
            GpuLayerCount = 0,
            Threads = Math.Max(1, Environment.ProcessorCount),
        };
        LLamaWeights weights;
        try
        {
            weights = LLamaWeights.LoadFromFile(parameters);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"llama.cpp could not load {ggufPath}: {ex.Message}\n{string.Join("", Log)}", ex);
        }
        using (weights)
        {
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
}
