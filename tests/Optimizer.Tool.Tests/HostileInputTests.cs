using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Optimizer.Engine.Pipeline;

namespace Optimizer.Tool.Tests;

/// <summary>
/// Hostile and careless inputs, by class (docs/errors.md): outputs that name inputs, non-finite weights, a config that
/// disagrees with the weights, special files where regular files are read, manifests with sizes the report must not
/// trust, output paths that cannot work (checked before any work), and what a failed or concurrent run leaves behind.
/// Every case must end with its code, the file it concerns, no stack trace, and every input unchanged.
/// </summary>
public sealed class HostileInputTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);
    private readonly TinyModel _model = TinyModel.Create();

    public void Dispose() => _model.Dispose();

    private string Config => Path.Combine(_model.Folder, "config.json");
    private string Weights => Path.Combine(_model.Folder, "model.safetensors");

    private static ToolResult Run(params string[] args) => ToolProcess.Run(args, Limit);

    private static void AssertError(ToolResult result, string code, string? path = null)
    {
        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains($"error {code}:", result.StdErr);
        if (path is not null) Assert.Contains(path, result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr);
        Assert.DoesNotContain("OOPT1999", result.StdErr);
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private string[] Optimize(string output, params string[] extra) =>
        new[] { "optimize", _model.Folder, "-o", output, "--quant", "F32", "--mitigations", "none", "--calibration-tokens", "64",
            "--sequence-length", "32", "--eval-tokens", "32", "--quiet" }.Concat(extra).ToArray();

    // ---- Outputs never replace inputs --------------------------------------------------------------------------

    [Fact]
    public void Result_file_naming_the_weights_is_refused_and_the_weights_survive()
    {
        string before = Hash(Weights);
        AssertError(Run(Optimize(Path.Combine(_model.Root, "out"), "--result-file", Weights)), "OOPT1032", Weights);
        Assert.Equal(before, Hash(Weights));
        Assert.False(Directory.Exists(Path.Combine(_model.Root, "out")));
    }

    [Fact]
    public void Result_file_naming_the_calibration_text_is_refused()
    {
        string text = _model.WriteText("calibration.txt", SampleText.Create(4000));
        string before = Hash(text);
        AssertError(Run(Optimize(Path.Combine(_model.Root, "out"), "--calibration", text, "--result-file", text)), "OOPT1032", text);
        Assert.Equal(before, Hash(text));
    }

    [Fact]
    public void Analyze_output_naming_the_config_is_refused_and_the_config_survives()
    {
        string before = Hash(Config);
        AssertError(Run("analyze", _model.Folder, "-o", Config, "--calibration-tokens", "64", "--sequence-length", "32", "--quiet"), "OOPT1032", Config);
        Assert.Equal(before, Hash(Config));
    }

    [Fact]
    public void An_output_reached_through_a_symbolic_link_is_still_an_input()
    {
        string link = Path.Combine(_model.Root, "innocent.json");
        File.CreateSymbolicLink(link, Config);
        string before = Hash(Config);
        AssertError(Run("analyze", _model.Folder, "-o", link, "--calibration-tokens", "64", "--sequence-length", "32", "--quiet"), "OOPT1032");
        Assert.Equal(before, Hash(Config));
    }

    [Fact]
    public void Optimize_output_name_that_would_overwrite_the_model_weights_is_refused()
    {
        // -o the model folder with --output-name model --format gguf writes model.gguf: allowed; but a safetensors output
        // folder named like the model's own folder would replace it.
        string parent = Path.GetDirectoryName(_model.Folder)!;
        string before = Hash(Weights);
        ToolResult result = Run(Optimize(parent, "--format", "safetensors", "--output-name", Path.GetFileName(_model.Folder)));
        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains("OOPT1151", result.StdErr);
        Assert.Equal(before, Hash(Weights));
    }

    // ---- Non-finite weights ------------------------------------------------------------------------------------

    [Theory]
    [InlineData("model.layers.1.input_layernorm.weight", float.NaN)]
    [InlineData("model.embed_tokens.weight", float.PositiveInfinity)]
    [InlineData("model.layers.0.mlp.down_proj.weight", float.NegativeInfinity)]
    public void Non_finite_weights_are_refused_with_the_tensor_and_index(string tensor, float value)
    {
        using var model = TinyModel.Create(editWeights: (name, data) => { if (name == tensor) data[7] = value; });
        string text = model.WriteText("eval.txt", SampleText.Create(2000));
        ToolResult eval = ToolProcess.Run(new[] { "eval", model.Folder, "--text", text, "--quiet" }, Limit);
        AssertError(eval, "OOPT1050", "model.safetensors");
        Assert.Contains(tensor, eval.StdErr);
        Assert.Contains("index 7", eval.StdErr);
        Assert.DoesNotContain("NaN", eval.StdOut);

        ToolResult json = ToolProcess.Run(new[] { "eval", model.Folder, "--text", text, "--json", "--quiet" }, Limit);
        AssertError(json, "OOPT1050");

        ToolResult analyze = ToolProcess.Run(new[] { "analyze", model.Folder, "--json", "--quiet", "--calibration", text,
            "--calibration-tokens", "64", "--sequence-length", "32" }, Limit);
        AssertError(analyze, "OOPT1050");
    }

    // ---- Config against the stored tensors ---------------------------------------------------------------------

    [Fact]
    public void Fewer_layers_in_the_config_than_stored_is_refused()
    {
        using var model = TinyModel.Create(layers: 3);
        string config = Path.Combine(model.Folder, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(config))!;
        json["num_hidden_layers"] = 2;
        File.WriteAllText(config, json.ToJsonString());
        ToolResult result = ToolProcess.Run(new[] { "inspect", model.Folder }, Limit);
        AssertError(result, "OOPT1051", config);
        Assert.Contains("layer 2", result.StdErr);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void Non_positive_max_position_embeddings_is_refused(int value)
    {
        var json = JsonNode.Parse(File.ReadAllText(Config))!;
        json["max_position_embeddings"] = value;
        File.WriteAllText(Config, json.ToJsonString());
        ToolResult result = Run("inspect", _model.Folder);
        AssertError(result, "OOPT1003", Config);
        Assert.Contains("max_position_embeddings", result.StdErr);
    }

    // ---- Special files where regular files are read ------------------------------------------------------------

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MkFifo(string path, uint mode);

    private static void Fifo(string path)
    {
        if (File.Exists(path)) File.Delete(path);
        Assert.Equal(0, MkFifo(path, Convert.ToUInt32("600", 8)));
    }

    [Theory]
    [InlineData("config.json")]
    [InlineData("tokenizer.json")]
    [InlineData("model.safetensors")]
    public void A_named_pipe_in_the_model_folder_is_refused_without_hanging(string file)
    {
        string path = Path.Combine(_model.Folder, file);
        Fifo(path);
        string text = _model.WriteText("eval.txt", SampleText.Create(2000));
        AssertError(Run("eval", _model.Folder, "--text", text, "--quiet"), "OOPT1009", path);
    }

    [Theory]
    [InlineData("config.json")]
    [InlineData("tokenizer.json")]
    [InlineData("model.safetensors")]
    public void A_folder_where_a_model_file_is_read_is_named_as_such(string file)
    {
        string path = Path.Combine(_model.Folder, file);
        File.Delete(path);
        Directory.CreateDirectory(path);
        string text = _model.WriteText("eval.txt", SampleText.Create(2000));
        ToolResult result = Run("eval", _model.Folder, "--text", text, "--quiet");
        AssertError(result, "OOPT1009", path);
        Assert.Contains("is a folder, not a regular file", result.StdErr);
    }

    [Fact]
    public void A_folder_as_text_is_named_as_such()
    {
        ToolResult result = Run("eval", _model.Folder, "--text", _model.Root, "--quiet");
        AssertError(result, "OOPT1009", _model.Root);
    }

    [Fact]
    public void A_named_pipe_as_text_is_refused_without_hanging()
    {
        string pipe = Path.Combine(_model.Root, "text.fifo");
        Fifo(pipe);
        AssertError(Run("eval", _model.Folder, "--text", pipe, "--quiet"), "OOPT1009", pipe);
    }

    [Theory]
    [InlineData("eval", "--text", "/dev/zero")]
    [InlineData("analyze", "--calibration", "/dev/urandom")]
    public void Endless_devices_as_text_are_refused(string command, string option, string device)
    {
        string[] args = command == "eval"
            ? new[] { "eval", _model.Folder, option, device, "--quiet" }
            : new[] { "analyze", _model.Folder, option, device, "--json", "--quiet", "--calibration-tokens", "64", "--sequence-length", "32" };
        AssertError(Run(args), "OOPT1009", device);
    }

    // ---- Manifests the report must not trust -------------------------------------------------------------------

    [Theory]
    [InlineData("layers", "1000000", "OOPT1090")]
    [InlineData("layers", "2147483647", "OOPT1090")]
    [InlineData("layers", "0", "OOPT1090")]
    [InlineData("hidden_size", "-4", "OOPT1090")]
    [InlineData("vocab_size", "1e999", "OOPT1092")]
    public void Report_refuses_architecture_sizes_it_cannot_trust(string key, string value, string code)
    {
        string text = File.ReadAllText(ReportTestFiles.FullManifest);
        var json = JsonNode.Parse(text)!;
        string replaced = json.ToJsonString().Replace($"\"{key}\":{json["model"]!["architecture"]![key]!.ToJsonString()}", $"\"{key}\":{value}");
        Assert.NotEqual(json.ToJsonString(), replaced);
        string manifest = _model.WriteText("bad.manifest.json", replaced);
        string output = Path.Combine(_model.Root, "bad.html");
        AssertError(Run("report", manifest, "-o", output), code, manifest);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Report_refuses_a_negative_or_out_of_range_layer_and_an_infinite_value()
    {
        var json = JsonNode.Parse(File.ReadAllText(ReportTestFiles.FullManifest))!;
        JsonArray census = json["census"]!.AsArray();
        census[0]!["layer"] = -1;
        AssertError(Run("report", _model.WriteText("neg.json", json.ToJsonString()), "-o", Path.Combine(_model.Root, "a.html")), "OOPT1090", "census[0].layer");
        census[0]!["layer"] = 999;
        AssertError(Run("report", _model.WriteText("far.json", json.ToJsonString()), "-o", Path.Combine(_model.Root, "b.html")), "OOPT1090", "census[0].layer");
        census[0]!["layer"] = 0;
        string inf = json.ToJsonString().Replace("\"max_abs\":", "\"max_abs\":1e999,\"x\":", StringComparison.Ordinal);
        AssertError(Run("report", _model.WriteText("inf.json", inf), "-o", Path.Combine(_model.Root, "c.html")), "OOPT1092");
    }

    // ---- Output paths are checked before any work --------------------------------------------------------------

    [Fact]
    public void Outputs_that_cannot_be_written_fail_before_any_work()
    {
        string file = _model.WriteText("a-file", "x");
        // A parent that is a file.
        AssertError(Run("analyze", _model.Folder, "-o", Path.Combine(file, "m.json"), "--quiet"), "OOPT1030");
        AssertError(Run(Optimize(Path.Combine(file, "out"))), "OOPT1030");
        // An analyze output that is a folder, or in a missing folder.
        AssertError(Run("analyze", _model.Folder, "-o", _model.Root, "--quiet"), "OOPT1030");
        AssertError(Run("analyze", _model.Folder, "-o", Path.Combine(_model.Root, "missing", "m.json"), "--quiet"), "OOPT1030", "missing");
        // A result file that is a folder: nothing may be written before that is found.
        string output = Path.Combine(_model.Root, "out");
        AssertError(Run(Optimize(output, "--result-file", _model.Root)), "OOPT1030");
        Assert.False(Directory.Exists(output));
        // A report output in a missing folder.
        AssertError(Run("report", ReportTestFiles.FullManifest, "-o", Path.Combine(_model.Root, "nope", "r.html")), "OOPT1030");
    }

    // ---- What failed and concurrent runs leave behind ----------------------------------------------------------

    [Fact]
    public void A_failed_run_removes_the_output_folders_it_created()
    {
        string output = Path.Combine(_model.Root, "new", "deeper");
        string[] args = Optimize(output, "--fail-above-kld", "0").Select(a => a == "F32" ? "Q4_0" : a).ToArray();
        ToolResult result = Run(args);
        AssertError(result, "OOPT1160");
        Assert.False(Directory.Exists(Path.Combine(_model.Root, "new")));
    }

    [Fact]
    public void A_stale_staging_folder_of_a_killed_run_is_removed_by_the_next_run()
    {
        string output = Path.Combine(_model.Root, "out");
        string stale = Path.Combine(output, ".tiny-llama.0badc0de.partial");
        Directory.CreateDirectory(stale);
        File.WriteAllText(Path.Combine(stale, "tiny-llama.gguf"), "half");
        ToolResult result = Run(Optimize(output));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(Directory.Exists(stale));
        Assert.Equal(new[] { "tiny-llama.gguf", "tiny-llama.manifest.json" },
            Directory.EnumerateFileSystemEntries(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_second_run_into_a_locked_output_folder_fails_at_once()
    {
        string output = Path.Combine(_model.Root, "out");
        Directory.CreateDirectory(output);
        using (new FileStream(Path.Combine(output, OutputFolderLock.FileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            ToolResult result = Run(Optimize(output));
            AssertError(result, "OOPT1033", output);
            Assert.False(File.Exists(Path.Combine(output, "tiny-llama.gguf")));
        }
        // Released (as when the first run ends or is killed), the folder is usable again.
        Assert.True(Run(Optimize(output)).ExitCode == 0);
    }

    // ---- Messages ----------------------------------------------------------------------------------------------

    [Fact]
    public void A_text_file_given_as_the_model_is_named_as_given()
    {
        string text = _model.WriteText("notes.txt", "hello");
        ToolResult result = Run("inspect", text);
        AssertError(result, "OOPT1001", text);
        Assert.StartsWith(text + ": error OOPT1001", result.StdErr.Trim());
        Assert.DoesNotContain(Path.Combine(_model.Root, "config.json"), result.StdErr);
    }
}
