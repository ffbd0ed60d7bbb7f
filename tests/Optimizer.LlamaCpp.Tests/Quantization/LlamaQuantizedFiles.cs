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

    /// <summary>Deletes <see cref="Scratch"/>.</summary>
    public void Dispose() => Directory.Delete(Scratch, recursive: true);
}
