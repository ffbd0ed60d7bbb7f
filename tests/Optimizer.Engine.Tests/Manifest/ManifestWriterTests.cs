using System.Text;
using System.Text.Json;
using Optimizer.Engine.Manifest;

namespace Optimizer.Engine.Tests.Manifest;

public sealed class ManifestWriterTests
{
    [Fact]
    public void Output_is_utf8_without_bom_with_lf_two_space_indent_and_a_trailing_newline()
    {
        byte[] bytes = ManifestWriter.ToUtf8(SampleManifest.Create());
        Assert.False(bytes.AsSpan().StartsWith(new byte[] { 0xEF, 0xBB, 0xBF }));
        string text = Encoding.UTF8.GetString(bytes);
        Assert.DoesNotContain('\r', text);
        Assert.EndsWith("}\n", text);
        Assert.StartsWith("{\n  \"schema\": \"outlier-manifest/1\",\n  \"tool\": {\n    \"name\": \"dotnet-outlier-opt\",", text);
    }

    [Fact]
    public void Top_level_and_section_keys_come_in_the_documented_order()
    {
        using var doc = JsonDocument.Parse(ManifestWriter.ToUtf8(SampleManifest.Create()));
        JsonElement root = doc.RootElement;
        Assert.Equal(new[] { "schema", "tool", "model", "options", "calibration", "census", "profiles", "findings" }, Keys(root));
        Assert.Equal(new[] { "massive_activations", "births", "propagation", "super_weights", "channel_outliers", "outlier_triggering_channels", "near_threshold" },
            Keys(root.GetProperty("findings")));
        Assert.Equal(new[] { "ma", "co", "gamma", "otc", "top_k" }, Keys(root.GetProperty("options")));
        Assert.Equal(new[] { "source", "files", "seed", "sampling", "sequences", "sequence_length", "bos", "tokens", "tokens_sha256" },
            Keys(root.GetProperty("calibration")));
        Assert.Equal(new[] { "layer", "site", "token_index", "token_position", "token_id", "token_text", "channel", "value", "ratio", "kind" },
            Keys(root.GetProperty("findings").GetProperty("massive_activations")[0]));
    }

    [Fact]
    public void Arrays_are_sorted_as_documented_whatever_the_input_order()
    {
        using var doc = JsonDocument.Parse(ManifestWriter.ToUtf8(SampleManifest.Create()));
        JsonElement root = doc.RootElement;
        Assert.Equal(new[] { "config.json", "tokenizer.json" }, root.GetProperty("model").GetProperty("files").EnumerateArray().Select(f => f.GetProperty("path").GetString()));
        Assert.Equal(new[] { "attn.y1", "y8", "y6" }, root.GetProperty("census").EnumerateArray().Select(c => c.GetProperty("site").GetString()));
        Assert.Equal(new[] { 7, 3 }, root.GetProperty("census")[2].GetProperty("top").EnumerateArray().Select(t => t.GetProperty("channel").GetInt32()));
        Assert.Equal(new[] { "attn", "ffn" }, root.GetProperty("profiles").EnumerateArray().Select(p => p.GetProperty("norm").GetString()));
        Assert.Equal(new[] { "attn.y2", "attn.q", "y6" }, root.GetProperty("options").GetProperty("co").GetProperty("sites").EnumerateArray().Select(s => s.GetString()));
        JsonElement findings = root.GetProperty("findings");
        Assert.Equal(new[] { "y6", "y7", "y8" }, findings.GetProperty("massive_activations").EnumerateArray().Select(a => a.GetProperty("site").GetString()));
        Assert.Equal(new[] { "row", "column" }, findings.GetProperty("outlier_triggering_channels").EnumerateArray().Select(o => o.GetProperty("reading").GetString()));
        Assert.Equal(new[] { "attn.y2", "attn.q" }, findings.GetProperty("channel_outliers").EnumerateArray().Select(o => o.GetProperty("site").GetString()));
        Assert.Equal(new[] { -70.0, 60.0 }, findings.GetProperty("near_threshold").EnumerateArray().Select(n => n.GetProperty("value").GetDouble()));
        Assert.Equal(new[] { 0 }, findings.GetProperty("propagation")[0].GetProperty("token_positions").EnumerateArray().Select(p => p.GetInt32()));
    }

    [Fact]
    public void Shuffled_input_gives_the_same_bytes()
    {
        OutlierManifest m = SampleManifest.Create();
        OutlierManifest shuffled = m with
        {
            Census = m.Census.Reverse().ToArray(),
            Profiles = m.Profiles.Reverse().ToArray(),
            Findings = m.Findings with
            {
                MassiveActivations = m.Findings.MassiveActivations.Reverse().ToArray(),
                ChannelOutliers = m.Findings.ChannelOutliers.Reverse().ToArray(),
                OutlierTriggeringChannels = m.Findings.OutlierTriggeringChannels.Reverse().ToArray(),
                NearThreshold = m.Findings.NearThreshold.Reverse().ToArray(),
            },
        };
        Assert.Equal(ManifestWriter.ToUtf8(m), ManifestWriter.ToUtf8(shuffled));
    }

    [Fact]
    public void Statistics_are_rounded_and_unbounded_ratios_and_absent_references_are_null()
    {
        string text = ManifestWriter.ToText(SampleManifest.Create());
        Assert.Contains("\"max_abs\": 512.3,", text);
        Assert.Contains("\"median_abs\": 0.01235,", text);
        Assert.Contains("\"value\": -512.3,", text);
        Assert.Contains("\"ratio\": null,", text);
        Assert.Contains("\"rope_pair\": null,", text);
        Assert.Contains("\"otc\": null", text);
        Assert.Contains("\"gamma_ratio\": null,", text);
        Assert.Contains("\"rms_norm_eps\": 1e-05", text);
        Assert.Contains("\"token_text\": \"<s>\"", text);
    }

    [Fact]
    public void A_non_finite_statistic_is_an_error_naming_the_key()
    {
        OutlierManifest m = SampleManifest.Create();
        OutlierManifest broken = m with { Census = new[] { m.Census[0] with { MaxAbs = double.PositiveInfinity } } };
        var ex = Assert.Throws<OptimizerException>(() => ManifestWriter.ToUtf8(broken));
        Assert.Equal(ErrorCodes.ManifestValueNotFinite, ex.Code);
        Assert.Contains("max_abs", ex.Message);
    }

    [Fact]
    public void Write_replaces_the_file_atomically_and_leaves_no_temporary_file()
    {
        string folder = Path.Combine(Path.GetTempPath(), "outlier-opt-manifest-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            string path = Path.Combine(folder, "m.manifest.json");
            File.WriteAllText(path, "old");
            ManifestWriter.Write(path, SampleManifest.Create());
            Assert.Equal(ManifestWriter.ToUtf8(SampleManifest.Create()), File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string[] Keys(JsonElement element) => element.EnumerateObject().Select(p => p.Name).ToArray();
}
