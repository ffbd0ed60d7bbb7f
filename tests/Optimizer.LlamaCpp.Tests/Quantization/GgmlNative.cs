using System.Runtime.InteropServices;
using Optimizer.LlamaCpp;

namespace Optimizer.LlamaCpp.Tests.Quantization;

/// <summary>
/// ggml's own <c>ggml_quantize_chunk</c> and <c>dequantize_row_*</c> (libggml-base, the copy LLamaSharp loaded into
/// this process), called directly so kernels can be compared with llama.cpp's on arbitrary data, not only on what a
/// model file holds.
/// </summary>
internal static unsafe class GgmlNative
{
    private static readonly nint Library = Load();
    private static readonly delegate* unmanaged<int, float*, void*, long, long, long, float*, nuint> QuantizeChunk =
        (delegate* unmanaged<int, float*, void*, long, long, long, float*, nuint>)NativeLibrary.GetExport(Library, "ggml_quantize_chunk");

    /// <summary>Quantizes <paramref name="rows"/> rows of <paramref name="cols"/> values with ggml (no importance matrix).</summary>
    public static byte[] Quantize(int ggmlType, ReadOnlySpan<float> src, long rows, long cols, long bytes) =>
        Quantize(ggmlType, src, rows, cols, bytes, default);

    /// <summary>
    /// Quantizes with ggml, passing <paramref name="importance"/> (one value per column) as <c>quant_weights</c>, or NULL
    /// when it is empty.
    /// </summary>
    public static byte[] Quantize(int ggmlType, ReadOnlySpan<float> src, long rows, long cols, long bytes, ReadOnlySpan<float> importance)
    {
        if (!importance.IsEmpty && importance.Length != cols)
            throw new ArgumentException($"{importance.Length} importance values for {cols} columns.", nameof(importance));
        var dst = new byte[bytes];
        fixed (float* s = src)
        fixed (float* w = importance)
        fixed (byte* d = dst)
        {
            nuint written = QuantizeChunk(ggmlType, s, d, 0, rows, cols, importance.IsEmpty ? null : w);
            if ((long)written != bytes)
                throw new InvalidOperationException($"ggml_quantize_chunk wrote {written} bytes, expected {bytes}.");
        }
        return dst;
    }

    /// <summary>ggml's <c>dequantize_row_&lt;type&gt;</c> (e.g. <c>dequantize_row_q5_K</c>) on whole blocks.</summary>
    public static float[] Dequantize(string typeName, ReadOnlySpan<byte> src, int values)
    {
        string symbol = "dequantize_row_" + typeName.ToLowerInvariant().Replace("_k", "_K", StringComparison.Ordinal);
        var dequantize = (delegate* unmanaged<void*, float*, long, void>)NativeLibrary.GetExport(Library, symbol);
        var dst = new float[values];
        fixed (byte* s = src)
        fixed (float* d = dst)
            dequantize(s, d, values);
        return dst;
    }

    private static nint Load()
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
        return NativeLibrary.Load(path);
    }
}
