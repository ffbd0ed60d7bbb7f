using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Optimizer.Fixtures;

namespace Optimizer.Tool.Tests;

/// <summary>
/// The cross-CPU promise of docs/manifest.md ("Reproducibility"), checked on one machine: libtorch's
/// <c>ATEN_CPU_CAPABILITY</c> picks its CPU kernels (the scalar <c>default</c> ones against the vectorised ones this CPU
/// supports), which changes float results in the last bits the way another CPU does. The same analysis under both
/// settings must give manifests that are not byte-identical (or the test proves nothing) but agree under
/// <see cref="ManifestComparison"/>: findings, structure and counts exact, measured numbers within tolerance.
/// </summary>
public sealed class CrossCpuReproducibilityTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "outlier-opt-crosscpu-" + Guid.NewGuid().ToString("N"));

    public CrossCpuReproducibilityTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Optimize_under_scalar_and_vectorised_libtorch_kernels_differs_in_bits_but_agrees_within_tolerance()
    {
        string model = Path.Combine(RepositoryRoot(), "tests", "fixtures", "austen-byte-llama");
        string text = Path.Combine(_folder, "calibration.txt");
        File.WriteAllText(text, SampleText.Create(4096));

        (byte[] Weights, JsonNode Manifest) Optimize(string name, string? capability)
        {
            string output = Path.Combine(_folder, name);
            ToolResult result = ToolProcess.Run(
                new[]
                {
                    "optimize", model, "-o", output, "--quant", "F32", "--mitigations", "smooth", "--calibration", text,
                    "--calibration-tokens", "512", "--eval-text", text, "--eval-tokens", "256", "--quiet",
                },
                TimeSpan.FromMinutes(8),
                new Dictionary<string, string?> { ["ATEN_CPU_CAPABILITY"] = capability });
            Assert.True(result.ExitCode == 0, result.ToString());
            var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "austen-byte-llama.manifest.json")))!;
            // The weights' bits differ across CPUs (the smoothing scales come from measured activations): so do their hashes.
            foreach (JsonNode? o in manifest["outputs"]!.AsArray()) o!.AsObject().Remove("sha256");
            return (File.ReadAllBytes(Path.Combine(output, "austen-byte-llama.gguf")), manifest);
        }

        var scalar = Optimize("scalar", "default");
        var vectorised = Optimize("vectorised", null);

        // The setting must change float results, or the comparison below proves nothing.
        Assert.False(scalar.Weights.AsSpan().SequenceEqual(vectorised.Weights),
            "The scalar and vectorised libtorch kernels gave bit-identical smoothed weights on this CPU: the test cannot show a cross-CPU difference here.");
        var differences = new ManifestComparison(ReportTestFiles.Schema).Differences(scalar.Manifest, vectorised.Manifest);
        Assert.True(differences.Count == 0, string.Join("\n", differences.Take(20)));
    }

    private static string RepositoryRoot([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", ".."));
}
