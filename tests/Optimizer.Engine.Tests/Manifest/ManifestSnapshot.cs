using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Manifest;

/// <summary>
/// Snapshot comparison for manifests that holds on every CPU (docs/manifest.md, "Reproducibility"): the structure, every
/// string, every boolean and every integer field of the schema (layers, channels, token positions, counts, bytes) must
/// equal the recorded snapshot exactly; the measured numbers (schema type <c>number</c>: max_abs, perplexity, …) must
/// agree within the tolerances of <see cref="ManifestComparison"/>.
/// </summary>
/// <remarks>
/// Snapshot files keep Snapshooter's layout (<c>__snapshots__/Class.Method[_extension].snap</c> beside the test file).
/// A missing snapshot is written (and fails under CI=true, where nothing may be recorded); a mismatch writes the actual
/// text to <c>__snapshots__/__mismatch__/</c> and fails listing the differing JSON paths. Set
/// <c>OUTLIER_OPT_UPDATE_SNAPSHOTS=1</c> to rewrite snapshots on purpose.
/// </remarks>
internal static class ManifestSnapshot
{
    private static readonly Lazy<ManifestComparison> Comparison = new(() => new ManifestComparison(RepositoryPaths.ManifestSchema));

    /// <summary>Compares <paramref name="json"/> with the recorded snapshot of the calling test.</summary>
    public static void Match(string json, string? extension = null,
        [CallerFilePath] string testFile = "", [CallerMemberName] string testMethod = "")
    {
        string folder = Path.Combine(Path.GetDirectoryName(testFile)!, "__snapshots__");
        string name = $"{Path.GetFileNameWithoutExtension(testFile)}.{testMethod}{(extension is null ? "" : "_" + extension)}.snap";
        string path = Path.Combine(folder, name);
        string actualText = Normalize(json);

        bool update = Environment.GetEnvironmentVariable("OUTLIER_OPT_UPDATE_SNAPSHOTS") == "1";
        if (!File.Exists(path) || update)
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(path, actualText, new UTF8Encoding(true));
            if (!update && Environment.GetEnvironmentVariable("CI") == "true")
                Assert.Fail($"No snapshot {path} was recorded; it was written now, but CI must not record snapshots.");
            return;
        }

        var differences = Comparison.Value.Differences(JsonNode.Parse(File.ReadAllText(path)), JsonNode.Parse(json));
        if (differences.Count == 0) return;
        string mismatch = Path.Combine(folder, "__mismatch__", name);
        Directory.CreateDirectory(Path.GetDirectoryName(mismatch)!);
        File.WriteAllText(mismatch, actualText, new UTF8Encoding(true));
        Assert.Fail($"{differences.Count} difference(s) from {path} (actual written to {mismatch}):\n" +
                    string.Join("\n", differences.Take(25)));
    }

    private static string Normalize(string json) =>
        JsonNode.Parse(json)!.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
