using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Optimizer.Tool.Tests;

/// <summary><c>analyze</c> on a small model written by the test: manifest output, determinism, --json, usage and input errors.</summary>
public sealed class AnalyzeCommandTests : IClassFixture<AnalyzeCommandTests.Model>
{
    private readonly Model _model;

    public AnalyzeCommandTests(Model model) => _model = model;

    /// <summary>One small model and a 3 KB calibration text shared by the tests of this class.</summary>
    public sealed class Model : IDisposable
    {
        public Model()
        {
            Tiny = TinyModel.Create(hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, tied: true);
            TextPath = Tiny.WriteText("calib.txt", SampleText.Create(3000));
        }

        public TinyModel Tiny { get; }

        public string TextPath { get; }

        /// <summary>analyze with the shared text in 4 sequences of 64 tokens; <paramref name="extra"/> may replace those two options.</summary>
        public string[] Args(params string[] extra)
        {
            var args = new List<string> { "analyze", Tiny.Folder, "--calibration", TextPath };
            if (!extra.Contains("--sequence-length")) args.AddRange(new[] { "--sequence-length", "64" });
            if (!extra.Contains("--calibration-tokens")) args.AddRange(new[] { "--calibration-tokens", "256" });
            return args.Concat(extra).ToArray();
        }

        public void Dispose() => Tiny.Dispose();
    }

    [Fact]
    public void Writes_the_manifest_and_a_summary_and_the_same_bytes_twice()
    {
        string first = Path.Combine(_model.Tiny.Root, "first.manifest.json");
        string second = Path.Combine(_model.Tiny.Root, "second.manifest.json");
        var a = ToolProcess.Run(_model.Args("-o", first));
        var b = ToolProcess.Run(_model.Args("-o", second, "--quiet"));
        Assert.True(a.ExitCode == 0, a.ToString());
        Assert.True(b.ExitCode == 0, b.ToString());
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));

        Assert.Contains("Model        tiny-llama (llama, 2 layers, hidden 32", a.StdOut);
        Assert.Contains("Calibration  text (1 file): 256 tokens in 4 sequence(s) of 64, BOS first", a.StdOut);
        Assert.Contains("Massive activations: none.", a.StdOut);
        Assert.Contains($"Manifest written to {first}", a.StdOut);
        Assert.Contains("calibrating:", a.StdErr);
        Assert.Equal("", b.StdErr);

        using var doc = JsonDocument.Parse(File.ReadAllBytes(first));
        JsonElement root = doc.RootElement;
        Assert.Equal("outlier-manifest/1", root.GetProperty("schema").GetString());
        Assert.Equal("dotnet-outlier-opt", root.GetProperty("tool").GetProperty("name").GetString());
        Assert.DoesNotContain('+', root.GetProperty("tool").GetProperty("version").GetString()!);
        JsonElement calibration = root.GetProperty("calibration");
        Assert.Equal("text", calibration.GetProperty("source").GetString());
        Assert.Equal("calib.txt", calibration.GetProperty("files")[0].GetProperty("path").GetString());
        Assert.Equal(256, calibration.GetProperty("tokens").GetInt32());
        Assert.Equal(2 * 17, root.GetProperty("census").GetArrayLength());
        Assert.Equal(2 * 2, root.GetProperty("profiles").GetArrayLength());
        Assert.DoesNotContain(_model.Tiny.Root, Encoding.UTF8.GetString(File.ReadAllBytes(first)));
    }

    [Fact]
    public void Json_prints_only_the_manifest_on_stdout_the_same_bytes_as_the_file()
    {
        string path = Path.Combine(_model.Tiny.Root, "json.manifest.json");
        var written = ToolProcess.Run(_model.Args("-o", path, "--quiet"));
        var printed = ToolProcess.Run(_model.Args("--json"));
        Assert.True(written.ExitCode == 0, written.ToString());
        Assert.True(printed.ExitCode == 0, printed.ToString());
        Assert.Equal(File.ReadAllText(path), printed.StdOut);
        Assert.StartsWith("{\n  \"schema\": \"outlier-manifest/1\",", printed.StdOut);
    }

    [Fact]
    public void Scale_free_mode_and_thresholds_are_recorded_in_the_manifest()
    {
        var result = ToolProcess.Run(_model.Args("--json", "--quiet", "--ma-mode", "scale-free", "--ma-threshold", "6", "--ma-ratio", "15",
            "--co-ratio", "12", "--gamma-ratio", "7", "--otc-ratio", "9", "--top-k", "3"));
        Assert.True(result.ExitCode == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.StdOut);
        JsonElement options = doc.RootElement.GetProperty("options");
        Assert.Equal("scale-free", options.GetProperty("ma").GetProperty("mode").GetString());
        Assert.Equal(6, options.GetProperty("ma").GetProperty("scale_free_factor").GetDouble());
        Assert.Equal(15, options.GetProperty("ma").GetProperty("relative_threshold_scale_free").GetDouble());
        Assert.Equal(100, options.GetProperty("ma").GetProperty("absolute_threshold").GetDouble());
        Assert.Equal(12, options.GetProperty("co").GetProperty("ratio").GetDouble());
        Assert.Equal(7, options.GetProperty("gamma").GetProperty("ratio").GetDouble());
        Assert.Equal(9, options.GetProperty("otc").GetProperty("ratio").GetDouble());
        Assert.Equal(3, options.GetProperty("top_k").GetInt32());
        Assert.All(doc.RootElement.GetProperty("census").EnumerateArray(), c => Assert.True(c.GetProperty("top").GetArrayLength() <= 3));
    }

    [Theory]
    [InlineData("--ma-mode", "relative", "OOPT3005", "--ma-mode must be one of absolute, scale-free")]
    [InlineData("--co-ratio", "1", "OOPT3005", "--co-ratio must be a number greater than 1")]
    [InlineData("--ma-threshold", "NaN", "OOPT3005", "--ma-threshold must be a number greater than 0")]
    [InlineData("--top-k", "0", "OOPT3005", "--top-k must be an integer from 1 to 1024")]
    [InlineData("--seed", "-1", "OOPT3005", "--seed must be an integer from 0")]
    [InlineData("--device", "tpu", "OOPT3005", "--device must be cpu, cuda, cuda:N or auto")]
    [InlineData("--sequence-length", "100000", "OOPT3010", "--sequence-length 100000 is longer than this model supports")]
    [InlineData("--calibration-tokens", "10", "OOPT3011", "--calibration-tokens 10 is fewer than one sequence of 64 tokens")]
    [InlineData("--batch", "0", "OOPT3005", "--batch must be an integer from 1 to 4096")]
    public void A_bad_option_value_is_a_usage_error(string option, string value, string code, string message)
    {
        var result = ToolProcess.Run(_model.Args(option, value));
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"error {code}: {message}", result.StdErr);
        Assert.Equal("", result.StdOut);
    }

    [Fact]
    public void An_empty_calibration_file_fails_naming_it()
    {
        string path = _model.Tiny.WriteText("empty.txt", "");
        var result = ToolProcess.Run("analyze", _model.Tiny.Folder, "--calibration", path, "--quiet");
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith("empty.txt: error OOPT1022: The calibration text is empty.", result.StdErr);
    }

    [Fact]
    public void A_calibration_file_that_is_not_utf8_fails_naming_it_with_the_position()
    {
        string path = _model.Tiny.WriteBytes("latin1.txt", Encoding.Latin1.GetBytes("Caf\u00e9 au lait, s'il vous pla\u00eet.\n"));
        var result = ToolProcess.Run("analyze", _model.Tiny.Folder, "--calibration", path, "--quiet");
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith("latin1.txt(1,4): error OOPT1022: ", result.StdErr);
    }

    [Fact]
    public void A_calibration_text_shorter_than_one_sequence_fails_naming_it()
    {
        string path = _model.Tiny.WriteText("short.txt", "Too short.");
        var direct = ToolProcess.Run("analyze", _model.Tiny.Folder, "--calibration", path, "--sequence-length", "64", "--quiet");
        Assert.True(direct.ExitCode == 1, direct.ToString());
        Assert.StartsWith("short.txt: error OOPT1023: ", direct.StdErr);
    }

    [Fact]
    public void A_missing_calibration_path_fails_naming_it()
    {
        string path = Path.Combine(_model.Tiny.Root, "nope.txt");
        var result = ToolProcess.Run("analyze", _model.Tiny.Folder, "--calibration", path, "--quiet");
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith($"{path}: error OOPT1062: ", result.StdErr);
    }

    [Fact]
    public void Help_lists_the_analyze_options()
    {
        var result = ToolProcess.Run("analyze", "--help");
        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (string option in new[] { "--calibration", "--calibration-tokens", "--sequence-length", "--seed", "--ma-mode", "--ma-threshold",
                     "--ma-ratio", "--co-ratio", "--gamma-ratio", "--otc-ratio", "--top-k", "--device", "--output", "--json" })
            Assert.Contains(option, result.StdOut);
    }

    [Fact]
    public void Ctrl_c_during_the_analysis_exits_one_with_cancelled_and_writes_no_manifest()
    {
        using var model = TinyModel.Create(hidden: 64, layers: 4, heads: 4, kvHeads: 2, intermediate: 128);
        string text = model.WriteText("long.txt", SampleText.Create(1_000_000));
        string output = Path.Combine(model.Root, "cancelled.manifest.json");
        var before = model.ListFiles();
        using Process process = ToolProcess.Start(new[] { "analyze", model.Folder, "--calibration", text, "--sequence-length", "256",
            "--calibration-tokens", "900000", "--batch", "1", "-o", output }, out var stdout, out var stderr);
        try
        {
            var clock = Stopwatch.StartNew();
            while (!Read(stderr).Contains("calibrating:") && clock.Elapsed < TimeSpan.FromSeconds(90) && !process.HasExited) Thread.Sleep(50);
            Assert.False(process.HasExited, $"The analysis ended before it could be cancelled.\n{Read(stderr)}");
            ToolProcess.Signal(process, 2);
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(15)), "The tool did not stop within 15 s of Ctrl+C.");
            process.WaitForExit();
            Assert.Equal(1, process.ExitCode);
            Assert.Contains("outlier-opt: error OOPT1099: cancelled\n", Read(stderr));
            Assert.Equal("", Read(stdout));
            Assert.False(File.Exists(output));
            Assert.Equal(before, model.ListFiles());
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    private static string Read(StringBuilder builder)
    {
        lock (builder) return builder.ToString();
    }
}
