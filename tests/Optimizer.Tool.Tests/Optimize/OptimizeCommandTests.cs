using System.Text;
using System.Text.Json;

namespace Optimizer.Tool.Tests.Optimize;

/// <summary>
/// <c>optimize</c> out of process: a human run on the trained fixture, the machine mode the build uses (options file,
/// result file, msbuild diagnostics), options-file errors with line and column, and the quality gate.
/// </summary>
public sealed class OptimizeCommandTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(8);
    private readonly string _root = Path.Combine(Path.GetTempPath(), "outlier-opt-tool-tests", "optimize-" + Guid.NewGuid().ToString("N"));

    public OptimizeCommandTests()
    {
        Directory.CreateDirectory(_root);
        File.WriteAllText(Path.Combine(_root, "calib.txt"), SampleText.Create(4000, seed: 3), new UTF8Encoding(false));
        File.WriteAllText(Path.Combine(_root, "eval.txt"), SampleText.Create(2000, seed: 11), new UTF8Encoding(false));
    }

    private static string Fixture => Path.Combine(RepositoryRoot(), "tests", "fixtures", "austen-byte-llama");

    [Fact]
    public void Human_run_on_the_trained_fixture_writes_a_q4_0_gguf_the_manifest_and_the_variant_table()
    {
        string output = Path.Combine(_root, "out");
        var result = ToolProcess.Run(new[]
        {
            "optimize", Fixture, "-o", output, "--quant", "Q4_0", "--calibration", Path.Combine(_root, "calib.txt"),
            "--eval-text", Path.Combine(_root, "eval.txt"), "--calibration-tokens", "128", "--sequence-length", "64", "--eval-tokens", "126",
        }, Timeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        string gguf = Path.Combine(output, "austen-byte-llama.gguf");
        string manifest = Path.Combine(output, "austen-byte-llama.manifest.json");
        Assert.True(File.Exists(gguf) && File.Exists(manifest), result.ToString());
        Assert.Equal("GGUF", Encoding.ASCII.GetString(File.ReadAllBytes(gguf), 0, 4));
        using var doc = JsonDocument.Parse(File.ReadAllText(manifest));
        Assert.Equal("Q4_0", doc.RootElement.GetProperty("quantization").GetProperty("recipe").GetString());
        Assert.Equal("austen-byte-llama.gguf", doc.RootElement.GetProperty("outputs")[0].GetProperty("path").GetString());
        Assert.Contains("variant", result.StdOut);
        foreach (string column in new[] { "PPL", "dPPL %", "KLD", "top-1", "file size" }) Assert.Contains(column, result.StdOut);
        foreach (string variant in new[] { "original", "transformed", "stock", "imatrix", "compensated", "mitigated-imatrix", "mitigated-compensated", "w8a8-static", "w4a8-dynamic" })
            Assert.Contains(variant, result.StdOut);
        Assert.Contains("* written: ", result.StdOut);
        Assert.Contains("quality gate: passed", result.StdOut);

        // The manifest says which candidate was written and why, and the report renders it.
        JsonElement selection = doc.RootElement.GetProperty("evaluation").GetProperty("selection");
        string selected = selection.GetProperty("selected").GetString()!;
        Assert.Equal(("full", "auto"), (selection.GetProperty("search").GetString(), selection.GetProperty("mitigations").GetString()));
        Assert.Contains(selection.GetProperty("rule").GetString(), new[] { "lowest-kl", "tie-to-simpler" });
        Assert.Equal(JsonValueKind.Null, selection.GetProperty("constraint").ValueKind);
        Assert.Contains($"* written: {selected}: ", result.StdOut);
        string html = Path.Combine(_root, "report.html");
        var report = ToolProcess.Run(new[] { "report", manifest, "-o", html }, Timeout);
        Assert.True(report.ExitCode == 0, report.ToString());
        string page = File.ReadAllText(html);
        foreach (string part in new[] { "Candidate files", "Other variants", "Transforms", "Stored tensors", selected + " ★", "Error-compensating rounding" })
            Assert.Contains(part, page);
    }

    [Fact]
    public void Options_file_mode_resolves_paths_against_the_file_and_writes_the_result_last()
    {
        using var model = TinyModel.Create();
        string folder = Path.Combine(_root, "build");
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(_root, "calib.txt"), Path.Combine(folder, "calib.txt"));
        string options = Path.Combine(folder, "opts.json");
        File.WriteAllText(options, $$"""
            {
              "model": {{JsonSerializer.Serialize(model.Folder)}},
              "output": "obj/models",
              "quant": "Q8_0",
              "calibration": ["calib.txt"],
              "calibrationTokens": 128,
              "sequenceLength": "64",
              "evalTokens": 63,
              "maxPplIncrease": "2%",
              "failAbovePplIncrease": 50,
              "outputName": "tiny"
            }
            """);
        string resultFile = Path.Combine(_root, "result.json");
        File.WriteAllText(resultFile, "stale");

        var result = ToolProcess.Run(new[] { "optimize", "--options-file", options, "--result-file", resultFile, "--diagnostics", "msbuild" }, Timeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.StdErr);
        Assert.Contains("optimize: layer 2/2", result.StdOut);
        string gguf = Path.Combine(folder, "obj", "models", "tiny.gguf");
        string manifest = Path.Combine(folder, "obj", "models", "tiny.manifest.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(resultFile));
        JsonElement root = doc.RootElement;
        Assert.Equal("outlier-opt-result/1", root.GetProperty("schema").GetString());
        Assert.Equal("tiny", root.GetProperty("model").GetString());
        var outputs = root.GetProperty("outputs").EnumerateArray().ToList();
        Assert.Equal(new[] { gguf, manifest }, outputs.Select(o => o.GetProperty("path").GetString()));
        Assert.Equal(new[] { "weights", "manifest" }, outputs.Select(o => o.GetProperty("kind").GetString()));
        Assert.All(outputs, o => Assert.Equal(new FileInfo(o.GetProperty("path").GetString()!).Length, o.GetProperty("bytes").GetInt64()));
        Assert.True(root.GetProperty("gate").GetProperty("passed").GetBoolean());
        JsonElement evaluation = root.GetProperty("evaluation");
        Assert.True(evaluation.GetProperty("perplexity_original").GetDouble() > 1);
        Assert.True(evaluation.GetProperty("kl_divergence").GetDouble() >= 0);
        Assert.Equal(evaluation.GetProperty("perplexity_optimized").GetDouble() / evaluation.GetProperty("perplexity_original").GetDouble() - 1,
            evaluation.GetProperty("perplexity_increase").GetDouble(), 9);
    }

    [Theory]
    [InlineData("{\n  \"model\": \"m\",\n  \"quantization\": \"Q4_0\"\n}", "OOPT3031", 3, 3)]
    [InlineData("{\n  \"model\": \"m\",\n  \"groupSize\": true\n}", "OOPT3032", 3, 16)]
    [InlineData("{\n  \"model\": \"m\",\n  \"calibration\": [\"a.txt\", 5]\n}", "OOPT3032", 3, 28)]
    [InlineData("{\n  \"model\": \"m\"\n  \"output\": \"o\"\n}", "OOPT3030", 3, 3)]
    [InlineData("{\n  \"model\": \"m\",\n  \"output\": \"o\",\n  \"maxPplIncrease\": \"lots\"\n}", "OOPT3032", 4, 21)]
    public void Options_file_errors_name_the_file_line_and_column(string json, string code, int line, int column)
    {
        string options = Path.Combine(_root, "bad.json");
        File.WriteAllText(options, json);
        var result = ToolProcess.Run("optimize", "--options-file", options, "--result-file", Path.Combine(_root, "r.json"), "--diagnostics", "msbuild");
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"{options}({line},{column}): error {code}: ", result.StdErr);
        Assert.False(File.Exists(Path.Combine(_root, "r.json")));
    }

    [Theory]
    [InlineData("--mitigations", "norm,gamma")]
    [InlineData("--quant", "Q4_0_4_4")]
    [InlineData("--max-ppl-increase", "two")]
    [InlineData("--max-memory", "lots")]
    [InlineData("--group-size", "64")]
    public void Bad_option_values_are_usage_errors_naming_the_option(string option, string value)
    {
        var result = ToolProcess.Run("optimize", "some-model", "-o", Path.Combine(_root, "o"), option, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"error OOPT3005: {option} ", result.StdErr);
        Assert.Contains($"'{value}'", result.StdErr);
    }

    [Fact]
    public void Options_file_with_other_options_is_a_usage_error()
    {
        var result = ToolProcess.Run("optimize", "some-model", "--options-file", Path.Combine(_root, "x.json"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("error OOPT3034", result.StdErr);
    }

    [Fact]
    public void A_failed_quality_gate_exits_1_writes_no_weights_and_says_why_in_the_result()
    {
        using var model = TinyModel.Create();
        string output = Path.Combine(_root, "gated");
        string resultFile = Path.Combine(_root, "gate-result.json");
        var result = ToolProcess.Run(new[]
        {
            "optimize", model.Folder, "-o", output, "--quant", "Q4_0", "--calibration", Path.Combine(_root, "calib.txt"),
            "--calibration-tokens", "64", "--sequence-length", "64", "--eval-tokens", "63", "--fail-above-kld", "0",
            "--result-file", resultFile, "--diagnostics", "msbuild",
        }, Timeout);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error OOPT1160: Quality gate failed for model 'tiny-llama'", result.StdErr);
        Assert.Contains("above the limit 0 (fail-above-kld)", result.StdErr);
        Assert.False(Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any());
        using var doc = JsonDocument.Parse(File.ReadAllText(resultFile));
        Assert.Empty(doc.RootElement.GetProperty("outputs").EnumerateArray());
        JsonElement gate = doc.RootElement.GetProperty("gate");
        Assert.False(gate.GetProperty("passed").GetBoolean());
        Assert.Contains("KL divergence", gate.GetProperty("reason").GetString());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string source = "")
    {
        string? folder = Path.GetDirectoryName(source);
        while (folder is not null && !File.Exists(Path.Combine(folder, "Optimizer.sln"))) folder = Path.GetDirectoryName(folder);
        return folder ?? throw new InvalidOperationException($"No Optimizer.sln above {source}.");
    }
}
