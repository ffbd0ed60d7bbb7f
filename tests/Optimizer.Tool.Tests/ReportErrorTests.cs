using System.Text.Json;
using Json.Schema;

namespace Optimizer.Tool.Tests;

/// <summary>
/// <c>report</c> with bad input: every failure is one canonical error line naming the file, with the documented exit
/// code, and no output (not even a temporary file) is left behind. Also checks that the hand-written test manifests
/// follow the published JSON Schema, so the rendering tests exercise the real contract.
/// </summary>
public sealed class ReportErrorTests : IDisposable
{
    // JsonSchema.Net registers a schema's $id globally: build it once.
    private static readonly Lazy<JsonSchema> Schema = new(() => JsonSchema.FromText(File.ReadAllText(ReportTestFiles.Schema)));
    private readonly ReportTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData("manifest-full.json")]
    [InlineData("manifest-empty.json")]
    public void Test_manifests_follow_the_published_schema(string name)
    {
        string path = Path.Combine(Path.GetDirectoryName(ReportTestFiles.FullManifest)!, name);
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(path));
        EvaluationResults results = Schema.Value.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        var errors = (results.Details ?? new List<EvaluationResults>())
            .Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")).ToList();
        Assert.True(results.IsValid, string.Join("\n", errors));
    }

    [Fact]
    public void Missing_manifest_is_OOPT3002_naming_it()
    {
        string missing = Path.Combine(_files.Root, "nope.json");
        ToolResult result = ToolProcess.Run("report", missing, "-o", Path.Combine(_files.Root, "out.html"));
        AssertFailed(result, 1, $"{missing}: error OOPT3002: The manifest file does not exist.");
    }

    [Fact]
    public void A_folder_as_manifest_is_OOPT1009()
    {
        ToolResult result = ToolProcess.Run("report", _files.Root, "-o", Path.Combine(_files.Root, "out.html"));
        AssertFailed(result, 1, $"{_files.Root}: error OOPT1009: The manifest file is a folder, not a regular file; only regular files are read.");
    }

    [Fact]
    public void Invalid_json_is_OOPT1090_with_line_and_column()
    {
        string bad = Write("bad.json", "{\n  \"schema\": \"outlier-manifest/1\",\n  \"tool\": [1, }\n");
        ToolResult result = ToolProcess.Run("report", bad, "-o", Path.Combine(_files.Root, "out.html"));
        AssertFailed(result, 1, $"{bad}(3,");
        Assert.Contains("error OOPT1090: The manifest is not valid JSON", result.StdErr);
    }

    [Fact]
    public void Another_schema_is_OOPT1091()
    {
        string other = Write("other.json", "{\"schema\": \"outlier-opt-inspect/1\"}");
        ToolResult result = ToolProcess.Run("report", other, "-o", Path.Combine(_files.Root, "out.html"));
        AssertFailed(result, 1, $"{other}(1,1): error OOPT1091:");
    }

    [Fact]
    public void A_manifest_missing_a_section_is_OOPT1090_naming_the_path()
    {
        string text = File.ReadAllText(ReportTestFiles.EmptyManifest).Replace("\"findings\"", "\"findings_renamed\"", StringComparison.Ordinal);
        string broken = Write("broken.json", text);
        ToolResult result = ToolProcess.Run("report", broken, "-o", Path.Combine(_files.Root, "out.html"));
        AssertFailed(result, 1, $"{broken}");
        Assert.Contains("error OOPT1090:", result.StdErr);
        Assert.Contains("findings", result.StdErr);
    }

    [Fact]
    public void Output_over_the_manifest_or_onto_a_folder_is_OOPT3020()
    {
        string manifest = Path.Combine(_files.Root, "m.json");
        File.Copy(ReportTestFiles.EmptyManifest, manifest);
        ToolResult over = ToolProcess.Run("report", manifest, "-o", manifest);
        AssertFailed(over, 1, $"{manifest}: error OOPT3020: The output would overwrite the manifest; choose another file with -o.");
        Assert.Equal(File.ReadAllBytes(ReportTestFiles.EmptyManifest), File.ReadAllBytes(manifest));

        ToolResult folder = ToolProcess.Run("report", manifest, "-o", _files.Root);
        AssertFailed(folder, 1, $"{_files.Root}: error OOPT3020: The output path is a folder; name the HTML file to write.");
    }

    [Fact]
    public void Output_into_a_missing_folder_is_OOPT1030()
    {
        string output = Path.Combine(_files.Root, "no-such-folder", "r.html");
        ToolResult result = ToolProcess.Run("report", ReportTestFiles.EmptyManifest, "-o", output);
        AssertFailed(result, 1, $"{output}: error OOPT1030:");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("many")]
    public void Bad_max_rows_is_a_usage_error(string value)
    {
        ToolResult result = ToolProcess.Run("report", ReportTestFiles.EmptyManifest, "-o", Path.Combine(_files.Root, "r.html"), "--max-rows", value);
        AssertFailed(result, 2, $"error OOPT3005: --max-rows must be an integer from 1 to 100000, not '{value}'.");
    }

    [Fact]
    public void Missing_manifest_argument_is_a_usage_error()
    {
        ToolResult result = ToolProcess.Run("report");
        AssertFailed(result, 2, "error OOPT3004: The <manifest> argument is missing.");
        Assert.Contains("Run 'dotnet outlier-opt report --help' for usage.", result.StdErr);
    }

    private string Write(string name, string text)
    {
        string path = Path.Combine(_files.Root, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>The exit code, the first stderr line's start, nothing on stdout, and no HTML or temporary file left.</summary>
    private void AssertFailed(ToolResult result, int exitCode, string firstLineStart)
    {
        Assert.True(result.ExitCode == exitCode, result.ToString());
        Assert.StartsWith(firstLineStart, result.StdErr.Split('\n')[0]);
        Assert.Equal("", result.StdOut);
        Assert.DoesNotContain("   at ", result.StdErr);
        Assert.Empty(Directory.EnumerateFiles(_files.Root, "*.html", SearchOption.AllDirectories));
        Assert.Empty(Directory.EnumerateFiles(_files.Root, "*.tmp", SearchOption.AllDirectories));
    }
}
