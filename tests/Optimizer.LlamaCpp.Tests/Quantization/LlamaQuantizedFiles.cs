using System.Runtime.InteropServices;
using LLama.Native;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Quantization;
using Optimizer.LlamaCpp;

namespace Optimizer.LlamaCpp.Tests.Quantization;

/// <summary>
/// Shared files of the byte-identity tests, made once per test class: each model exported as F32 GGUF, and what
/// llama.cpp's quantizer (<c>llama_model_quantize</c> with its default parameters, no importance matrix) makes of it.
/// </summary>
public sealed class LlamaQuantizedFiles : IDisposable
{
    private readonly Dictionary<string, string> _f32 = new();
    private readonly Dictionary<(string, LlamaFileType), (uint Status, string Path, string Log)> _quantized = new();
    private readonly object _gate = new();

    public LlamaQuantizedFiles()
    {
        Scratch = Path.Combine(Path.GetTempPath(), "oopt-qbytes-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Scratch);
        LlamaRuntime.EnsureLoaded();
    }

    /// <summary>A folder deleted with the fixture.</summary>
    public string Scratch { get; }

    /// <summary>The model exported as F32 GGUF by our exporter.</summary>
    public string F32(string model)
    {
        lock (_gate)
        {
            if (_f32.TryGetValue(model, out string? path))
                return path;
            path = Path.Combine(Scratch, $"{model}-F32.gguf");
            using (ModelFolder folder = QuantizationModels.Open(model, Scratch))
                LlamaGgufExporter.Export(folder, folder.Weights, QuantizationRecipe.Parse("F32"), path, null, CancellationToken.None);
            _f32[model] = path;
            return path;
        }
    }

    /// <summary>llama.cpp's quantization of <see cref="F32"/> to <paramref name="fileType"/>: status 0 and the path on success.</summary>
    public (uint Status, string Path, string Log) Quantized(string model, LlamaFileType fileType)
    {
        string source = F32(model);
        lock (_gate)
        {
            if (_quantized.TryGetValue((model, fileType), out var done))
                return done;
            string path = Path.Combine(Scratch, $"{model}-{fileType}-llama.gguf");
            var parameters = LLamaModelQuantizeParams.Default();
            parameters.nthread = 2;
            parameters.ftype = (LLamaFtype)(int)fileType;
            parameters.quantize_output_tensor = true;
            uint status = NativeApi.llama_model_quantize(source, path, ref parameters);
            var result = (status, path, LlamaRuntime.RecentLog());
            _quantized[(model, fileType)] = result;
            return result;
        }
    }

    /// <summary>
    /// llama.cpp's quantization of <see cref="F32"/> to <paramref name="fileType"/> with an importance matrix: one value
    /// per column for each named tensor (GGUF names), passed as llama.h's <c>llama_model_imatrix_data</c> array
    /// (<c>{ name, data, size }</c>, ended by a null name) in <c>llama_model_quantize_params.imatrix</c>. Not cached.
    /// </summary>
    public (uint Status, string Path, string Log) QuantizedWithImportance(string model, LlamaFileType fileType, IReadOnlyDictionary<string, float[]> importance)
    {
        string source = F32(model);
        lock (_gate)
        {
            string path = Path.Combine(Scratch, $"{model}-{fileType}-imatrix-llama.gguf");
            var names = new List<IntPtr>();
            var pins = new List<GCHandle>();
            var entries = new ImatrixEntry[importance.Count + 1];
            var entriesPin = GCHandle.Alloc(entries, GCHandleType.Pinned);
            try
            {
                int i = 0;
                foreach (var (name, values) in importance)
                {
                    IntPtr namePtr = Marshal.StringToCoTaskMemUTF8(name);
                    names.Add(namePtr);
                    var pin = GCHandle.Alloc(values, GCHandleType.Pinned);
                    pins.Add(pin);
                    entries[i++] = new ImatrixEntry { Name = namePtr, Data = pin.AddrOfPinnedObject(), Size = (nuint)values.Length };
                }
                var parameters = LLamaModelQuantizeParams.Default();
                parameters.nthread = 2;
                parameters.ftype = (LLamaFtype)(int)fileType;
                parameters.quantize_output_tensor = true;
                parameters.imatrix = entriesPin.AddrOfPinnedObject();
                uint status = NativeApi.llama_model_quantize(source, path, ref parameters);
                return (status, path, LlamaRuntime.RecentLog());
            }
            finally
            {
                entriesPin.Free();
                foreach (var pin in pins) pin.Free();
                foreach (var name in names) Marshal.FreeCoTaskMem(name);
            }
        }
    }

    /// <summary>llama.h's <c>struct llama_model_imatrix_data { const char * name; const float * data; size_t size; }</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ImatrixEntry
    {
        public IntPtr Name;
        public IntPtr Data;
        public nuint Size;
    }

    /// <summary>Deletes <see cref="Scratch"/>.</summary>
    public void Dispose() => Directory.Delete(Scratch, recursive: true);
}
