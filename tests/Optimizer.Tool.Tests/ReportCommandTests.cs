using System.Xml.Linq;

namespace Optimizer.Tool.Tests;

/// <summary>
/// <c>report</c> on the hand-written manifests in ReportData/: the charts, panels and tables the page must have, the
/// escaping of odd token texts, empty findings, row limits and determinism. The page is parsed as XML, so every test
/// also checks that it is well-formed.
/// </summary>
public sealed class ReportCommandTests : IDisposable
{
    private readonly ReportTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Full_manifest_has_layer_charts_with_every_series_threshold_and_birth_marker()
    {
        XDocument page = ReportTestFiles.Load(_files.Render(ReportTestFiles.FullManifest));

        XElement chart = Assert.Single(ReportTestFiles.ByClass(page, "svg", "layer-max"));
        var series = ReportTestFiles.ByClass(chart, "g", "series").ToList();
        Assert.Equal(new[] { "attn.y1", "y1", "y6", "y8" }, series.Select(s => (string?)s.Attribute("data-series")));
        foreach (XElement s in series)
        {
            Assert.Single(s.Elements().Where(e => e.Name.LocalName == "polyline"));
            Assert.Equal(6, s.Elements().Count(e => e.Name.LocalName == "circle"));
        }
        // The y6 peak (1850) is drawn above the absolute threshold (100), and layer 0's y6 (5.2) below it.
        XElement threshold = Assert.Single(ReportTestFiles.ByClass(chart, "line", "threshold"));
        double thresholdY = double.Parse((string)threshold.Attribute("y1")!, System.Globalization.CultureInfo.InvariantCulture);
        var y6 = series[2].Elements().Where(e => e.Name.LocalName == "circle")
            .Select(c => double.Parse((string)c.Attribute("cy")!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(y6[1] < thresholdY && y6[0] > thresholdY, $"y6 points {string.Join(", ", y6)}, threshold at {thresholdY}");
        Assert.Contains(chart.Descendants(), e => e.Name.LocalName == "text" && e.Value == "MA threshold |x| > 100");
        Assert.Contains(chart.Descendants(), e => e.Name.LocalName == "text" && e.Value == "MA birth (layer 1)");
        Assert.Equal(new[] { "1", "10", "100", "1000", "10000" },
            ReportTestFiles.ByClass(chart, "text", "tick").Select(t => t.Value).Where(v => v.Length > 1 || v == "1").Take(5));
        Assert.Single(ReportTestFiles.ByClass(page, "svg", "layer-ratio"));
    }

    [Fact]
    public void Full_manifest_has_a_profile_panel_per_layer_and_norm_with_outlier_channels_highlighted()
    {
        XDocument page = ReportTestFiles.Load(_files.Render(ReportTestFiles.FullManifest));

        var panels = ReportTestFiles.ByClass(page, "figure", "panel").ToList();
        Assert.Equal(12, panels.Count);
        var flagged = panels.Where(p => ReportTestFiles.ByClass(p, "path", "outlier").Any())
            .Select(p => p.Elements().First().Value).ToList();
        Assert.Equal(2, flagged.Count);
        Assert.StartsWith("Layer 2 · attn", flagged[0]);
        Assert.EndsWith("outliers: 11, 30", flagged[0]);
        Assert.StartsWith("Layer 4 · ffn", flagged[1]);
        Assert.EndsWith("outliers: 19", flagged[1]);
        // Every panel has the three strips: pre-γ, γ, post-γ.
        foreach (XElement panel in panels)
            Assert.Equal(new[] { "pre-γ", "γ", "post-γ" }, ReportTestFiles.ByClass(panel, "text", "strip-label").Select(t => t.Value));
    }

    [Fact]
    public void Full_manifest_tables_show_families_super_weights_causes_otcs_and_candidates()
    {
        XDocument page = ReportTestFiles.Load(_files.Render(ReportTestFiles.FullManifest));

        var birth = ReportTestFiles.Cells(Assert.Single(ReportTestFiles.Rows(ReportTestFiles.Table(page, "births"))));
        Assert.Equal(new[] { "1", "y6" }, birth.Take(2));
        Assert.Equal("77 → 5", birth[3]);
        Assert.Equal("1850", birth[4]);
        Assert.Equal("birth 9 propagated 36", birth[5]);

        var weight = ReportTestFiles.Cells(Assert.Single(ReportTestFiles.Rows(ReportTestFiles.Table(page, "super-weights"))));
        Assert.Equal(new[] { "1", "model.layers.1.mlp.down_proj.weight", "5", "77", "0.8761", "1850", "1621", "98.7%" }, weight);

        var outliers = ReportTestFiles.Rows(ReportTestFiles.Table(page, "channel-outliers")).Select(ReportTestFiles.Cells).ToList();
        Assert.Equal(new[] { "6", "11", "19", "30", "2" }, outliers.Select(r => r[2]));
        Assert.Equal(new[] { "otc", "gamma", "gamma", "gamma", "unknown" }, outliers.Select(r => r[6]));
        Assert.Equal("W_q row 6", outliers[0][7]);
        Assert.Equal("|γ| = 10.4 × median", outliers[1][7]);

        var otcs = ReportTestFiles.Rows(ReportTestFiles.Table(page, "otcs")).Select(ReportTestFiles.Cells).ToList();
        Assert.Equal(2, otcs.Count);
        Assert.Equal(new[] { "column (B: input channel)", "17", "—", "15.5" }, otcs[0].Skip(2));
        Assert.Equal(new[] { "row (A: q output channel)", "6", "12", "21.9" }, otcs[1].Skip(2));

        var near = ReportTestFiles.Rows(ReportTestFiles.Table(page, "near-threshold")).Select(ReportTestFiles.Cells).ToList();
        Assert.Equal(new[] { "both", "relative", "absolute" }, near.Select(r => r[7]));
        Assert.Equal(new[] { "3", "1", "-120.5", "540" }, near[1][3..7]);

        var propagation = ReportTestFiles.Cells(Assert.Single(ReportTestFiles.Rows(ReportTestFiles.Table(page, "propagation"))));
        Assert.Equal("5", propagation[0]);
        Assert.EndsWith("1–5", propagation[2]);
    }

    [Fact]
    public void Odd_token_texts_are_escaped_and_shown_with_control_characters_spelled_out()
    {
        string html = _files.Render(ReportTestFiles.FullManifest);
        XDocument page = ReportTestFiles.Load(html);

        var tokens = ReportTestFiles.ByClass(page, "code", "tok").Select(t => t.Value).Distinct().ToList();
        Assert.Contains("“</script><b>x&amp;\"q\" 'q'”", tokens);
        Assert.Contains("“\\n\\t\\u0007”", tokens);
        Assert.Contains("“<0xE2>”", tokens);
        Assert.Contains("“日本語 🙂”", tokens);
        Assert.Contains("“<s>”", tokens);
        // Nothing from the manifest became markup: no script or b element, and the raw text is escaped in the file.
        Assert.DoesNotContain(page.Descendants(), e => e.Name.LocalName == "script");
        Assert.All(page.Descendants().Where(e => e.Name.LocalName == "b"), b => Assert.StartsWith("Layer ", b.Value));
        string text = File.ReadAllText(html);
        Assert.Contains("&lt;/script&gt;&lt;b&gt;x&amp;amp;&quot;q&quot; &#39;q&#39;", text);
        Assert.DoesNotContain("<script", text);
        Assert.False(text.Contains('\u0007', StringComparison.Ordinal), "a raw control character reached the page");
    }

    [Fact]
    public void Manifest_without_findings_renders_charts_and_says_so_in_every_section()
    {
        XDocument page = ReportTestFiles.Load(_files.Render(ReportTestFiles.EmptyManifest));

        var none = ReportTestFiles.ByClass(page, "p", "none").Select(p => p.Value).ToList();
        Assert.Equal(new[]
        {
            "No massive activations were found (scale-free thresholds).",
            "No super weights (no MA is born at y6).",
            "No entry came close to the thresholds without passing them.",
            "No channel-wise outliers were found.",
            "No outlier-triggering channels were found.",
        }, none);
        Assert.Empty(page.Descendants().Where(e => e.Name.LocalName == "table"));
        Assert.All(ReportTestFiles.ByClass(page, "div", "n"), n => Assert.Equal("0", n.Value));
        XElement chart = Assert.Single(ReportTestFiles.ByClass(page, "svg", "layer-max"));
        Assert.Empty(ReportTestFiles.ByClass(chart, "line", "threshold")); // scale-free: no absolute line
        Assert.Empty(ReportTestFiles.ByClass(chart, "line", "layer-mark"));
        Assert.Equal(4, ReportTestFiles.ByClass(chart, "g", "series").Count());
        Assert.Equal(6, ReportTestFiles.ByClass(page, "figure", "panel").Count());
        Assert.Empty(ReportTestFiles.ByClass(page, "path", "outlier"));
    }

    [Fact]
    public void Tables_stop_at_max_rows_and_say_how_many_more_there_are()
    {
        XDocument page = ReportTestFiles.Load(_files.Render(ReportTestFiles.FullManifest, "limited.html", "--max-rows", "2"));

        var occurrences = ReportTestFiles.Rows(ReportTestFiles.Table(page, "ma-occurrences"));
        Assert.Equal(3, occurrences.Count);
        Assert.Equal("… and 15 more rows (all of them are in the manifest)", occurrences[2].Value);
        var outliers = ReportTestFiles.Rows(ReportTestFiles.Table(page, "channel-outliers"));
        Assert.Equal("… and 3 more channel outliers (all of them are in the manifest)", outliers[^1].Value);
        Assert.Equal(2, ReportTestFiles.Rows(ReportTestFiles.Table(page, "otcs")).Count); // exactly at the limit: no "more" row
    }

    [Fact]
    public void Same_manifest_gives_the_same_bytes_and_the_default_output_is_next_to_the_manifest()
    {
        string copy = Path.Combine(_files.Root, "model.manifest.json");
        File.Copy(ReportTestFiles.FullManifest, copy);
        string first = _files.Render(ReportTestFiles.FullManifest, "first.html");

        ToolResult result = ToolProcess.Run("report", copy);
        Assert.True(result.ExitCode == 0, result.ToString());
        string defaultOutput = Path.Combine(_files.Root, "model.manifest.html");
        Assert.True(File.Exists(defaultOutput), result.ToString());
        Assert.StartsWith($"Wrote {defaultOutput} (", result.StdOut);
        Assert.EndsWith("47 MA occurrences, 1 super weights, 5 channel outliers, 2 OTCs.\n", result.StdOut);
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(defaultOutput));
        Assert.Equal(new[] { "first.html", "model.manifest.html", "model.manifest.json" },
            Directory.GetFiles(_files.Root).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}
