using System.Collections.Concurrent;
using LLama;
using LLama.Common;
using LLama.Native;

namespace Optimizer.LlamaCpp;

/// <summary>
/// The llama.cpp native runtime, loaded once per process. llama.cpp's own log output is kept in memory (the last
/// lines are available through <see cref="RecentLog"/> for failure messages) instead of being printed to the console.
/// The native library loads lazily on first use; <see cref="EnsureLoaded"/> forces that load, so APIs that do not load
/// a model first (e.g. <c>LLamaQuantizer.Quantize</c>, which otherwise fails with <c>DllNotFoundException: llama</c>)
/// work in any test order.
/// </summary>
public static class LlamaRuntime
{
    private const int LogLines = 200;
    private static readonly object Gate = new();
    private static readonly ConcurrentQueue<string> Log = new();
    private static bool _loaded;

    /// <summary>Routes llama.cpp's log into memory and loads the native library (once).</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded) return;
            NativeLibraryConfig.All.WithLogCallback(OnLog);
            NativeApi.llama_empty_call();
            _loaded = true;
        }
    }

    /// <summary>The last lines llama.cpp logged (newest last), for assertion messages.</summary>
    public static string RecentLog() => string.Join("", Log);

    /// <summary>
    /// Loads a GGUF model on the CPU with the given context size (and a batch of the same size), an F32 KV cache and
    /// no flash attention, so llama.cpp computes in F32 throughout like the engine.
    /// </summary>
    public static LLamaWeights LoadModel(string path, uint contextSize, out ModelParams parameters)
    {
        EnsureLoaded();
        parameters = new ModelParams(path)
        {
            ContextSize = contextSize,
            BatchSize = contextSize,
            UBatchSize = contextSize,
            GpuLayerCount = 0,
            // F32 KV cache: the default F16 cache rounds keys and values and alone moves logits by ~1e-3 relative.
            TypeK = GGMLType.GGML_TYPE_F32,
            TypeV = GGMLType.GGML_TYPE_F32,
            FlashAttention = false,
            Threads = Math.Max(1, Math.Min(2, Environment.ProcessorCount)),
            BatchThreads = Math.Max(1, Math.Min(2, Environment.ProcessorCount)),
        };
        try
        {
            return LLamaWeights.LoadFromFile(parameters);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"llama.cpp could not load {path}: {ex.Message}\nllama.cpp log:\n{RecentLog()}", ex);
        }
    }

    /// <summary>
    /// Loads only the vocabulary of a GGUF file (llama.cpp's <c>vocab_only</c>: hyper-parameters and tokenizer, no
    /// tensors), enough to tokenize text.
    /// </summary>
    public static LLamaWeights LoadVocabulary(string path)
    {
        EnsureLoaded();
        var parameters = new ModelParams(path) { VocabOnly = true, GpuLayerCount = 0 };
        try
        {
            return LLamaWeights.LoadFromFile(parameters);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"llama.cpp could not load the vocabulary of {path}: {ex.Message}\nllama.cpp log:\n{RecentLog()}", ex);
        }
    }

    /// <summary>
    /// llama.cpp's token ids of <paramref name="text"/> (<c>llama_tokenize</c> with <c>parse_special</c>, so special
    /// tokens written in the text are matched), with BOS when <paramref name="addBos"/> and the vocabulary asks for it.
    /// </summary>
    public static int[] Tokenize(LLamaWeights weights, string text, bool addBos)
    {
        ArgumentNullException.ThrowIfNull(weights);
        return weights.Tokenize(text, addBos, special: true, System.Text.Encoding.UTF8).Select(t => (int)t).ToArray();
    }

    private static void OnLog(LLamaLogLevel level, string message)
    {
        Log.Enqueue($"[{level}] {message}");
        while (Log.Count > LogLines && Log.TryDequeue(out _))
        {
        }
    }
}
