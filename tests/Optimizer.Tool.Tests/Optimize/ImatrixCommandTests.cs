using System.Text;
using System.Text.Json;
using Optimizer.Engine;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Quantization.Imatrix;

namespace Optimizer.Tool.Tests.Optimize;

/// <summary>
/// The importance-matrix options out of process: <c>analyze --imatrix-out</c> writes the input model's matrix,
/// <c>optimize --imatrix</c> reads it (from the command line or an options file, relative paths against the file) and
/// <c>--imatrix-out</c> writes the optimized weights' matrix, listed in the result file; bad values and bad files are
/// reported with their codes.
/// </summary>
public sealed class ImatrixCommandTests : IClassFixture<ImatrixCommandTests.Model>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(8);
    private readonly Model _model;

    public ImatrixCommandTests(Model model) => _model = model;

    /// <summary>One tiny untied model, calibration and evaluation text, and the analyze run's importance matrix.</summary>
    public sealed class Model : IDisposable
    {
        public Model()
        {
            Tiny = TinyModel.Create(hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, tied: false);
            Calibration = Tiny.WriteText("calib.txt", SampleText.Create(3000, seed: 3));
            Eval = Tiny.WriteText("eval.txt", SampleText.Create(1500, seed: 11));
            Imatrix = Path.Combine(Tiny.Root, "analyzed.imatrix.gguf");
            AnalyzeRun = ToolProcess.Run(new[]
            {
                "analyze", Tiny.Folder, "--calibration", Calibration, "--sequence-length", "64", "--calibration-tokens", "128",
                "-o", Path.Combine(Tiny.Root, "a.manifest.json"), "--imatrix-out", Imatrix,
            }, Timeout);
        }

        public TinyModel Tiny { get; }

        public string Calibration { get; }

        public string Eval { get; }

        public string Imatrix { get; }

        public ToolResult AnalyzeRun { get; }

        public string[] Optimize(string output, params string[] extra) => new[]
        {
            "optimize", Tiny.Folder, "-o", output, "--calibration", Calibration, "--eval-text", Eval,
            "--calibration-tokens", "128", "--sequence-length", "64", "--eval-tokens", "63",
        }.Concat(extra).ToArray();

        public void Dispose() => Tiny.Dispose();
    }

    [Fact]
    public void Analyze_writes_the_importance_matrix_of_the_input_model()
    {
        Assert.True(_model.AnalyzeRun.ExitCode == 0, _model.AnalyzeRun.ToString());
        Assert.Contains($"analyze: wrote importance matrix {_model.Imatrix}", _model.AnalyzeRun.StdErr);
        ImportanceMatrix m = ImatrixFile.Read(_model.Imatrix);
        m.CheckFits(_model.Tiny.Config);
        Assert.Equal((2, 64), (m.ChunkCount, m.ChunkSize));
        Assert.Equal(new[] { "calib.txt" }, m.Datasets);
        Assert.Equal(14, m.Entries.Count);
        Assert.All(m.Entries, e => Assert.Equal(new[] { 128L }, e.Counts.ToArray()));
    }

    [Fact]
    public void Optimize_uses_a_given_matrix_and_writes_the_optimized_ones()
    {
        string output = Path.Combine(_model.Tiny.Root, "out-cli");
        string written = Path.Combine(_model.Tiny.Root, "matrices", "optimized.imatrix.gguf");
        var run = ToolProcess.Run(_model.Optimize(output, "--quant", "F16", "--imatrix", _model.Imatrix, "--imatrix-out", written), Timeout);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"wrote {written}", run.StdOut);
        Assert.Contains("warning: F16 does not use an importance matrix", run.StdErr);
        ImatrixFile.Read(written).CheckFits(_model.Tiny.Config);
        using var gguf = GgufFile.Open(Path.Combine(output, "tiny-llama.gguf"));
        Assert.Equal("analyzed.imatrix.gguf", gguf.Metadata.GetString("quantize.imatrix.file"));
        Assert.Equal("calib.txt", gguf.Metadata.GetString("quantize.imatrix.dataset"));
        Assert.Equal(14L, gguf.Metadata.GetInteger("quantize.imatrix.entries_count"));
    }

    [Fact]
    public void Options_file_resolves_imatrix_paths_against_the_file_and_the_result_lists_the_written_matrix()
    {
        string folder = Path.Combine(_model.Tiny.Root, "build");
        Directory.CreateDirectory(folder);
        File.Copy(_model.Imatrix, Path.Combine(folder, "given.dat.gguf"), overwrite: true);
        string options = Path.Combine(folder, "opts.json");
        File.WriteAllText(options, $$"""
            {
              "model": {{JsonSerializer.Serialize(_model.Tiny.Folder)}},
              "output": "obj/models",
              "quant": "Q8_0",
              "calibration": [{{JsonSerializer.Serialize(_model.Calibration)}}],
              "evalText": {{JsonSerializer.Serialize(_model.Eval)}},
              "calibrationTokens": 128,
              "sequenceLength": 64,
              "evalTokens": 63,
              "outputName": "tiny",
              "imatrix": "given.dat.gguf",
              "imatrixOut": "obj/models/tiny.imatrix.gguf"
            }
            """, new UTF8Encoding(false));
        string resultFile = Path.Combine(folder, "result.json");
        var run = ToolProcess.Run(new[] { "optimize", "--options-file", options, "--result-file", resultFile, "--diagnostics", "msbuild" }, Timeout);
        Assert.True(run.ExitCode == 0, run.ToString());
        using var doc = JsonDocument.Parse(File.ReadAllText(resultFile));
        var outputs = doc.RootElement.GetProperty("outputs").EnumerateArray().ToList();
        Assert.Equal(new[] { "weights", "imatrix", "manifest" }, outputs.Select(o => o.GetProperty("kind").GetString()));
        string imatrix = Path.Combine(folder, "obj", "models", "tiny.imatrix.gguf");
        Assert.Equal(imatrix, outputs[1].GetProperty("path").GetString());
        Assert.Equal(new FileInfo(imatrix).Length, outputs[1].GetProperty("bytes").GetInt64());
        using var gguf = GgufFile.Open(Path.Combine(folder, "obj", "models", "tiny.gguf"));
        Assert.Equal("given.dat.gguf", gguf.Metadata.GetString("quantize.imatrix.file"));
    }

    [Theory]
    [InlineData("--search", "thorough", "--search must be quick or full")]
    [InlineData("--candidates", "stock,best", "--candidates must be a comma list of stock, imatrix, compensated, mitigated, mitigated-imatrix, mitigated-compensated, awq, awq-imatrix, awq-compensated")]
    public void Bad_search_or_candidates_are_usage_errors(string option, string value, string message)
    {
        var run = ToolProcess.Run("optimize", "some-model", "-o", Path.Combine(_model.Tiny.Root, "o"), option, value);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.StdErr);
    }

    [Fact]
    public void Imatrix_with_safetensors_output_is_a_usage_error()
    {
        var run = ToolProcess.Run("optimize", "some-model", "-o", Path.Combine(_model.Tiny.Root, "o"), "--format", "safetensors", "--imatrix", "m.gguf");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("error OOPT3005: --imatrix is used to quantize GGUF weights", run.StdErr);
    }

    [Fact]
    public void Bad_or_mismatched_matrices_fail_with_their_codes_naming_the_file()
    {
        string missing = Path.Combine(_model.Tiny.Root, "missing.gguf");
        var run = ToolProcess.Run(_model.Optimize(Path.Combine(_model.Tiny.Root, "o1"), "--imatrix", missing, "--diagnostics", "msbuild"), Timeout);
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith($"{missing}: error {ErrorCodes.ImatrixFileUnreadable}: ", run.StdErr);

        string truncated = Path.Combine(_model.Tiny.Root, "truncated.dat");
        File.WriteAllBytes(truncated, new byte[] { 2, 0, 0, 0, 5, 0 });
        run = ToolProcess.Run(_model.Optimize(Path.Combine(_model.Tiny.Root, "o2"), "--imatrix", truncated, "--diagnostics", "msbuild"), Timeout);
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith($"{truncated}: error {ErrorCodes.ImatrixFileInvalid}: The file is truncated", run.StdErr);

        // a matrix of the model without its last layer's ffn_down
        var given = ImatrixFile.Read(_model.Imatrix);
        string partial = Path.Combine(_model.Tiny.Root, "partial.gguf");
        ImatrixFile.Write(partial, new ImportanceMatrix(given.Entries.Where(e => e.Name != "blk.1.ffn_down.weight"), given.ChunkCount, given.ChunkSize, given.Datasets));
        run = ToolProcess.Run(_model.Optimize(Path.Combine(_model.Tiny.Root, "o3"), "--imatrix", partial, "--diagnostics", "msbuild"), Timeout);
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith($"{partial}: error {ErrorCodes.ImatrixTensorMissing}: The importance matrix has no entry for tensor 'blk.1.ffn_down.weight'", run.StdErr);

        // With the importance-weighted kernels, Q4_0 with a matrix is an ordinary run.
        run = ToolProcess.Run(_model.Optimize(Path.Combine(_model.Tiny.Root, "o4"), "--quant", "Q4_0", "--imatrix", _model.Imatrix, "--diagnostics", "msbuild"), Timeout);
        Assert.True(run.ExitCode == 0, run.ToString());
    }
}
