using System.Collections.Concurrent;
using LLama.Native;

namespace Optimizer.Bench;

/// <summary>llama.cpp through LLamaSharp's CPU backend: loaded once, its log kept in memory instead of the console.</summary>
public static class LlamaCppNative
{
    private static readonly object Gate = new();
    private static readonly ConcurrentQueue<string> Log = new();
    private static bool _loaded;

    /// <summary>Loads the native library (once).</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_loaded) return;
            NativeLibraryConfig.All.WithLogCallback((level, message) =>
            {
                Log.Enqueue(message);
                while (Log.Count > 50 && Log.TryDequeue(out _)) { }
            });
            NativeApi.llama_empty_call();
            _loaded = true;
        }
    }

    /// <summary>The last lines llama.cpp logged.</summary>
    public static string RecentLog() => string.Join("", Log);
}
