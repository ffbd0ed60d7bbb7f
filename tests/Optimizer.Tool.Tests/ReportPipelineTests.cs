using System.Text.Json;
using System.Xml.Linq;

namespace Optimizer.Tool.Tests;

/// <summary>
/// <c>analyze</c> then <c>report</c> on a small model written by the test: the page renders what the real pipeline
/// wrote, with one chart point per layer, one profile panel per layer and norm, and cards that match the manifest.
/// </summary>
public sealed class ReportPipelineTests : IDisposable
{
    private readonly TinyModel _tiny = TinyModel.Create(hidden: 32, layers: 3, heads: 4, kvHeads: 2, intermediate: 64, tied: true);

    public void Dispose() => _tiny.Dispose();

    [Fact]
    public void Report_renders_the_manifest_that_analyze_wrote()
    {
        string text = _tiny.WriteText("calib.txt", SampleText.Create(3000));
        string manifest = Path.Combine(_tiny.Root, "tiny.manifest.json");
        ToolResult analyze = ToolProcess.Run("analyze", _tiny.Folder, "--calibration", text, "--sequence-length", "64",
            "--calibration-tokens", "256", "--ma-mode", "scale-free", "-o", manifest, "--quiet");
        Assert.True(analyze.ExitCode == 0, analyze.ToString());

        string html = Path.Combine(_tiny.Root, "tiny.html");
        ToolResult report = ToolProcess.Run("report", manifest, "-o", html);
        Assert.True(report.ExitCode == 0, report.ToString());
        XDocument page = ReportTestFiles.Load(html);

        Assert.Equal("Outlier report: tiny-llama", page.Root!.Elements().First(e => e.Name.LocalName == "head").Elements().Single(e => e.Name.LocalName == "title").Value);
        XElement chart = Assert.Single(ReportTestFiles.ByClass(page, "svg", "layer-max"));
        var series = ReportTestFiles.ByClass(chart, "g", "series").ToList();
        Assert.Equal(new[] { "attn.y1", "y1", "y6", "y8" }, series.Select(s => (string?)s.Attribute("data-series")));
        Assert.All(series, s => Assert.Equal(3, s.Elements().Count(e => e.Name.LocalName == "circle")));
        Assert.Equal(6, ReportTestFiles.ByClass(page, "figure", "panel").Count());

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(manifest));
        JsonElement findings = doc.RootElement.GetProperty("findings");
        var cards = ReportTestFiles.ByClass(page, "div", "card")
            .ToDictionary(c => c.Elements().Last().Value, c => int.Parse(c.Elements().First().Value.Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(findings.GetProperty("massive_activations").GetArrayLength(), cards["MA occurrences"]);
        Assert.Equal(findings.GetProperty("births").GetArrayLength(), cards["MA families (births)"]);
        Assert.Equal(findings.GetProperty("super_weights").GetArrayLength(), cards["super weights"]);
        Assert.Equal(findings.GetProperty("channel_outliers").GetArrayLength(), cards["channel outliers"]);
        Assert.Equal(findings.GetProperty("outlier_triggering_channels").GetArrayLength(), cards["OTCs in W_q"]);
        Assert.Equal(findings.GetProperty("near_threshold").GetArrayLength(), cards["near-threshold"]);
    }
}
