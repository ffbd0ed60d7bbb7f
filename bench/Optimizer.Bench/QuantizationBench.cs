using System.Diagnostics;
using LLama.Native;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Quantization;
using Optimizer.LlamaCpp;

namespace Optimizer.Bench;

/// <summary>
/// GGUF quantization throughput on one F32 GGUF input: our exporter (GGUF in, Q8_0/Q4_0 GGUF out, the path `optimize`
/// takes) vs llama.cpp's <c>llama_model_quantize</c> vs a plain file copy, interleaved run by run. Throughput is input
/// bytes per second.
/// </summary>
public static class QuantizationBench
{
    /// <summary>Measures and appends the table.</summary>
    public static void Run(ReportTable report, string work, string modelName, int runs, int threads)
    {
        string folder = SyntheticSizes.Folder(work, modelName);
        string input = Path.Combine(work, "gguf", $"synthetic-{modelName}-F32.gguf");
        if (!File.Exists(input))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(input)!);
            using var model = ModelFolder.Open(folder);
            LlamaGgufExporter.Export(model, model.Weights, QuantizationRecipe.Parse("F32"), input, null, CancellationToken.None);
        }
        long inputBytes = new FileInfo(input).Length;
        string output = Path.Combine(work, "gguf", "out.gguf");
        LlamaRuntime.EnsureLoaded();

        var rows = new List<string[]>();
        var copy = new Sample();
        var ours = new Dictionary<string, Sample> { ["Q8_0"] = new(), ["Q4_0"] = new() };
        var llama = new Dictionary<string, Sample> { ["Q8_0"] = new(), ["Q4_0"] = new() };
        for (int run = 0; run < runs; run++)
        {
            copy.Add(Throughput(inputBytes, () => File.Copy(input, output, overwrite: true)));
            foreach (string type in ours.Keys)
            {
                ours[type].Add(Throughput(inputBytes, () =>
                {
                    using var model = ModelFolder.Open(input);
                    LlamaGgufExporter.Export(model, model.Weights, QuantizationRecipe.Parse(type), output, null, CancellationToken.None);
                }));
                llama[type].Add(Throughput(inputBytes, () => LlamaQuantize(input, output, type, threads)));
            }
        }
        File.Delete(output);
        rows.Add(new[] { "file copy (ceiling)", "—", Gbps(copy) });
        foreach (string type in ours.Keys)
        {
            rows.Add(new[] { "ours: LlamaGgufExporter (GGUF F32 in)", type, Gbps(ours[type]) });
            rows.Add(new[] { $"llama.cpp: llama_model_quantize ({threads} threads)", type, Gbps(llama[type]) });
        }
        report.Heading($"GGUF quantization throughput: synthetic {modelName} F32 GGUF ({inputBytes / 1e6:F0} MB), {runs} runs");
        report.Table(new[] { "quantizer", "type", "GB/s of F32 input, median (min–max)" }, rows);
    }

    private static void LlamaQuantize(string input, string output, string type, int threads)
    {
        var parameters = LLamaModelQuantizeParams.Default();
        parameters.nthread = threads;
        parameters.ftype = (LLamaFtype)(int)QuantizationRecipe.Parse(type).FileType;
        uint status = NativeApi.llama_model_quantize(input, output, ref parameters);
        if (status != 0) throw new InvalidOperationException($"llama_model_quantize returned {status}: {LlamaRuntime.RecentLog()}");
    }

    private static double Throughput(long bytes, Action action)
    {
        var watch = Stopwatch.StartNew();
        action();
        return bytes / watch.Elapsed.TotalSeconds / 1e9;
    }

    private static string Gbps(Sample sample) => sample.Format("F3");
}
