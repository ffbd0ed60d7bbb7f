using System.Text;
using System.Text.Json;
using Optimizer.Fixtures;

namespace Optimizer.Tool.Tests;

/// <summary>The command line on synthetic Gemma models: analyze names the post-norm sites and finds the planted MA; optimize writes a Gemma GGUF; a mitigation that is not exact on Gemma 3 is refused.</summary>
public sealed class GemmaCommandTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);
    private readonly string _root = Directory.CreateTempSubdirectory("oopt-gemma-cli-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private string Model(GemmaSyntheticOptions options, string name)
    {
        string folder = Path.Combine(_root, name);
        GemmaSyntheticModel.Write(options, folder);
        File.WriteAllText(Path.Combine(_root, "calib.txt"), SampleText.Create(3000), new UTF8Encoding(false));
        return folder;
    }

    [Fact]
    public void Analyze_and_optimize_a_gemma2_model()
    {
        var options = GemmaSyntheticOptions.Gemma2Model();
        string model = Model(options, "gemma2-tiny");
        string manifest = Path.Combine(_root, "gemma2.manifest.json");
        var analyze = ToolProcess.Run(new[] { "analyze", model, "--calibration", Path.Combine(_root, "calib.txt"), "--sequence-length", "64",
            "--calibration-tokens", "256", "-o", manifest, "--quiet" }, Timeout);
        Assert.True(analyze.ExitCode == 0, analyze.ToString());
        using (var doc = JsonDocument.Parse(File.ReadAllText(manifest)))
        {
            var sites = doc.RootElement.GetProperty("census").EnumerateArray().Where(c => c.GetProperty("layer").GetInt32() == 0)
                .Select(c => c.GetProperty("site").GetString()).ToList();
            Assert.Equal(new[] { "attn.y1", "attn.norm_in", "attn.y2", "attn.q", "attn.k", "attn.v", "attn.out", "attn.o", "attn.post_norm",
                "y1", "norm_in", "y2", "y3", "y4", "y5", "y6", "y7", "post_norm", "y8" }, sites);
            Assert.Equal("gemma2", doc.RootElement.GetProperty("model").GetProperty("architecture").GetProperty("model_type").GetString());
            string text = doc.RootElement.GetProperty("findings").GetProperty("births").ToString();
            Assert.Contains($"\"residual_channel\":{options.MassiveChannel}", text.Replace(" ", "", StringComparison.Ordinal));
        }

        string output = Path.Combine(_root, "out");
        var optimize = ToolProcess.Run(new[] { "optimize", model, "-o", output, "--quant", "Q4_K_M", "--calibration", Path.Combine(_root, "calib.txt"),
            "--eval-text", Path.Combine(_root, "calib.txt"), "--calibration-tokens", "128", "--sequence-length", "64", "--eval-tokens", "126" }, Timeout);
        Assert.True(optimize.ExitCode == 0, optimize.ToString());
        byte[] gguf = File.ReadAllBytes(Path.Combine(output, "gemma2-tiny.gguf"));
        Assert.Equal("GGUF", Encoding.ASCII.GetString(gguf, 0, 4));
        Assert.Contains("gemma2", Encoding.ASCII.GetString(gguf, 0, 200));
    }

    [Fact]
    public void Otc_named_on_gemma3_is_refused()
    {
        string model = Model(GemmaSyntheticOptions.Gemma3Model() with { Layers = 2, MassiveLayer = null }, "gemma3-tiny");
        var result = ToolProcess.Run(new[] { "optimize", model, "-o", Path.Combine(_root, "o3"), "--quant", "Q8_0", "--mitigations", "otc",
            "--calibration", Path.Combine(_root, "calib.txt"), "--calibration-tokens", "128", "--sequence-length", "64" }, Timeout);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("OOPT1133", result.StdErr);
        Assert.Contains("q_norm", result.StdErr);
    }
}
