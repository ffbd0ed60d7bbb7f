using System.Runtime.InteropServices;
using Optimizer.LlamaCpp;

namespace Optimizer.LlamaCpp.Tests.Quantization;

/// <summary>
/// ggml's own <c>ggml_quantize_chunk</c> (libggml-base, the copy LLamaSharp loaded into this process), called directly so
/// kernels can be compared with llama.cpp's on arbitrary data, not only on what a model file holds.
/// </summary>
internal static unsafe class GgmlNative
{
    private static readonly delegate* unmanaged<int, float*, void*, long, long, long, float*, nuint> QuantizeChunk = Resolve();

    /// <summary>Quantizes <paramref name="rows"/> rows of <paramref name="cols"/> values with ggml (no importance matrix).</summary>
    public static byte[] Quantize(int ggmlType, ReadOnlySpan<float> src, long rows, long cols, long bytes)
    {
        var dst = new byte[bytes];
        fixed (float* s = src)
        fixed (byte* d = dst)
        {
            nuint written = QuantizeChunk(ggmlType, s, d, 0, rows, cols, null);
            if ((long)written != bytes)
                throw new InvalidOperationException($"ggml_quantize_chunk wrote {written} bytes, expected {bytes}.");
        }
        return dst;
    }

    private static delegate* unmanaged<int, float*, void*, long, long, long, float*, nuint> Resolve()
    {
        LlamaRuntime.EnsureLoaded();
        // The library LLamaSharp picked for this CPU (avx512/avx2/…); loading the same path returns the same handle.
        string? path = File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(parts => parts.Length >= 6 && parts[5].EndsWith("/libggml-base.so", StringComparison.Ordinal))
            .Select(parts => parts[5])
            .FirstOrDefault();
        if (path is null)
            throw new InvalidOperationException("libggml-base.so is not mapped into the process after loading llama.cpp.");
        nint library = NativeLibrary.Load(path);
        return (delegate* unmanaged<int, float*, void*, long, long, long, float*, nuint>)NativeLibrary.GetExport(library, "ggml_quantize_chunk");
    }
}
