using System.Diagnostics;
using LLama;
using LLama.Common;
using LLama.Native;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Model;
using Optimizer.Engine.Quantization;
using Optimizer.LlamaCpp;

namespace Optimizer.Bench;

/// <summary>
/// Forward throughput of the calibration pass (8 sequences × 128 tokens, batches of 4, as `analyze` runs it) with the
/// statistics probe off and on (every site of every layer, medians everywhere), and llama.cpp evaluating the same tokens
/// (one sequence per decode, logits for every position, F32 KV cache) from the model's F32 GGUF. Interleaved run by run.
/// </summary>
public static class ForwardBench
{
    private const int Sequences = 8, Length = 128, Batch = 4;

    /// <summary>Measures each model and appends the table.</summary>
    public static void Run(ReportTable report, string work, IReadOnlyList<(string Name, string Folder)> models, int runs, int threads)
    {
        var rows = new List<string[]>();
        foreach (var (name, folderPath) in models)
        {
            using var folder = ModelFolder.Open(folderPath);
            string gguf = Path.Combine(work, "gguf", name + "-F32.gguf");
            if (!File.Exists(gguf))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(gguf)!);
                LlamaGgufExporter.Export(folder, folder.Weights, QuantizationRecipe.Parse("F32"), gguf, null, CancellationToken.None);
            }
            var tokens = ProbeCost.Tokens(folder.Config, folder.Tokenizer.BosId ?? 0, Sequences, Length);
            using var model = LlamaModel.Create(folder.Config, folder.Weights, new ModelOptions());
            using var llama = new LlamaEvaluator(gguf, Length, threads);
            Sample off = new(), on = new(), cpp = new(), offCpu = new(), onCpu = new();
            ProbeCost.Pass(model, tokens, Batch, () => null);
            llama.Evaluate(tokens);
            for (int run = 0; run < runs; run++)
            {
                var a = ProbeCost.Pass(model, tokens, Batch, () => null);
                var b = ProbeCost.Pass(model, tokens, Batch, ProbeCost.AllProbes);
                off.Add(Sequences * Length / a.Wall); offCpu.Add(a.Cpu);
                on.Add(Sequences * Length / b.Wall); onCpu.Add(b.Cpu);
                var watch = Stopwatch.StartNew();
                llama.Evaluate(tokens);
                cpp.Add(Sequences * Length / watch.Elapsed.TotalSeconds);
            }
            string label = $"{name} ({folder.ParameterCount / 1e6:F1}M params)";
            rows.Add(new[] { label, "engine, probes off", off.Format("F0"), offCpu.Format("F3"), "—" });
            rows.Add(new[] { label, "engine, all probes on", on.Format("F0"), onCpu.Format("F3"), $"{(onCpu.Median / offCpu.Median - 1) * 100:F0}% CPU, {(off.Median / on.Median - 1) * 100:F0}% wall" });
            rows.Add(new[] { label, $"llama.cpp ({threads} threads)", cpp.Format("F0"), "—", "—" });
        }
        report.Heading($"Forward throughput: {Sequences} × {Length} tokens, batches of {Batch}, {runs} runs");
        report.Table(new[] { "model", "runner", "tokens/s, median (min–max)", "process CPU s per pass", "probe overhead (median)" }, rows);
    }

    /// <summary>A GGUF model in llama.cpp with one context sized for a sequence.</summary>
    private sealed class LlamaEvaluator : IDisposable
    {
        private readonly LLamaWeights _weights;
        private readonly LLamaContext _context;

        public LlamaEvaluator(string path, int length, int threads)
        {
            LlamaRuntime.EnsureLoaded();
            var parameters = new ModelParams(path)
            {
                ContextSize = (uint)length,
                BatchSize = (uint)length,
                UBatchSize = (uint)length,
                GpuLayerCount = 0,
                TypeK = GGMLType.GGML_TYPE_F32,
                TypeV = GGMLType.GGML_TYPE_F32,
                FlashAttention = false,
                Threads = threads,
                BatchThreads = threads,
            };
            _weights = LLamaWeights.LoadFromFile(parameters);
            _context = _weights.CreateContext(parameters);
        }

        /// <summary>Decodes every sequence from an empty cache with logits at every position.</summary>
        public void Evaluate(int[][] sequences)
        {
            foreach (var sequence in sequences)
            {
                _context.NativeHandle.MemoryClear(true);
                var batch = new LLamaBatch();
                for (int i = 0; i < sequence.Length; i++) batch.Add(sequence[i], i, LLamaSeqId.Zero, true);
                var result = _context.NativeHandle.Decode(batch);
                if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama.cpp decode failed: {result}\n{LlamaRuntime.RecentLog()}");
            }
        }

        public void Dispose()
        {
            _context.Dispose();
            _weights.Dispose();
        }
    }
}
