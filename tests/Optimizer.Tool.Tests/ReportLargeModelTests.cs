using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Optimizer.Tool.Tests;

/// <summary>
/// A manifest of a larger model (20 layers, 1,024 channels), built from manifest-empty.json: the page shows only the
/// layers with outlier channels plus the first and last, max-pools the channels into at most 248 columns per strip
/// without losing the outlier, and stays small.
/// </summary>
public sealed class ReportLargeModelTests : IDisposable
{
    private const int Layers = 20, Hidden = 1024, OutlierLayer = 7, OutlierChannel = 613;
    private readonly ReportTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Many_layers_and_channels_show_the_interesting_layers_and_keep_the_outlier_visible()
    {
        string manifest = Path.Combine(_files.Root, "large.json");
        File.WriteAllText(manifest, BuildManifest());
        string html = _files.Render(manifest, "large.html");
        Assert.True(new FileInfo(html).Length < 400_000, $"{new FileInfo(html).Length} bytes");
        XDocument page = ReportTestFiles.Load(html);

        var captions = ReportTestFiles.ByClass(page, "figure", "panel").Select(p => p.Elements().First()).ToList();
        Assert.Equal(new[] { "Layer 0 · attn", "Layer 0 · ffn", "Layer 7 · attn", "Layer 7 · ffn", "Layer 19 · attn", "Layer 19 · ffn" },
            captions.Select(c => c.Elements().First().Value));
        var panels = captions.Select(c => c.Value).ToList();
        Assert.Contains(page.Descendants(), e => e.Value == "Showing 3 of 20 layers: those with outlier channels, and the first and last; "
            + "the manifest has the profiles of every layer.");
        Assert.EndsWith($"outliers: {OutlierChannel}", panels[2]);

        foreach (XElement bars in ReportTestFiles.ByClass(page, "path", "bars"))
        {
            int columns = Regex.Matches((string)bars.Attribute("d")!, "M").Count;
            Assert.InRange(columns, 1, 248);
        }
        Assert.Equal(3, ReportTestFiles.ByClass(page, "path", "outlier").Count());
        XElement chart = Assert.Single(ReportTestFiles.ByClass(page, "svg", "layer-max"));
        Assert.All(ReportTestFiles.ByClass(chart, "g", "series"),
            s => Assert.Equal(Layers, s.Elements().Count(e => e.Name.LocalName == "circle")));
    }

    private static string BuildManifest()
    {
        JsonNode root = JsonNode.Parse(File.ReadAllText(ReportTestFiles.EmptyManifest))!;
        root["model"]!["architecture"]!["layers"] = Layers;
        root["model"]!["architecture"]!["hidden_size"] = Hidden;
        var census = new JsonArray();
        var layerZero = root["census"]!.AsArray().Where(c => (int)c!["layer"]! == 0).ToList();
        for (int layer = 0; layer < Layers; layer++)
        {
            foreach (JsonNode? template in layerZero)
            {
                JsonNode entry = template!.DeepClone();
                entry["layer"] = layer;
                entry["max_abs"] = 2.0 + layer;
                census.Add(entry);
            }
        }
        root["census"] = census;
        var profiles = new JsonArray();
        for (int layer = 0; layer < Layers; layer++)
        {
            foreach (string norm in new[] { "attn", "ffn" })
            {
                double[] gamma = Enumerable.Range(0, Hidden).Select(j => Math.Round(1 + 0.1 * Math.Sin(j), 4)).ToArray();
                if (layer == OutlierLayer && norm == "attn") gamma[OutlierChannel] = 12.5;
                double[] pre = Enumerable.Range(0, Hidden).Select(j => Math.Round(1.5 + 0.5 * Math.Cos(j * 0.37), 4)).ToArray();
                profiles.Add(new JsonObject
                {
                    ["layer"] = layer,
                    ["norm"] = norm,
                    ["pre_gamma_abs_max"] = Numbers(pre),
                    ["post_gamma_abs_max"] = Numbers(pre.Zip(gamma, (a, b) => Math.Round(Math.Abs(a * b), 4))),
                    ["gamma"] = Numbers(gamma),
                });
            }
        }
        root["profiles"] = profiles;
        return root.ToJsonString();
    }

    private static JsonArray Numbers(IEnumerable<double> values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());
}
