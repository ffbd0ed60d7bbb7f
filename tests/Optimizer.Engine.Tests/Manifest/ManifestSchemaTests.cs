using Optimizer.Engine.Manifest;

namespace Optimizer.Engine.Tests.Manifest;

public sealed class ManifestSchemaTests
{
    [Fact]
    public void A_written_manifest_satisfies_the_schema()
    {
        Assert.Empty(ManifestSchemaValidator.Errors(ManifestWriter.ToText(SampleManifest.Create())));
    }

    [Fact]
    public void A_text_calibration_manifest_satisfies_the_schema()
    {
        OutlierManifest m = SampleManifest.Create();
        m = m with
        {
            Calibration = m.Calibration with
            {
                Source = ManifestCalibration.TextSource,
                Files = new[] { new ManifestFile("data/calib.txt", 100, new string('d', 64)) },
                Seed = null,
                Sampling = null,
            },
        };
        Assert.Empty(ManifestSchemaValidator.Errors(ManifestWriter.ToText(m)));
    }

    [Fact]
    public void Unknown_top_level_keys_are_allowed_for_later_stages()
    {
        string text = ManifestWriter.ToText(SampleManifest.Create()).Replace("\"schema\": \"outlier-manifest/1\",", "\"schema\": \"outlier-manifest/1\",\n  \"later_stage\": [],");
        Assert.Empty(ManifestSchemaValidator.Errors(text));
    }

    [Theory]
    [InlineData("\"kind\": \"birth\"", "\"kind\": \"born\"")]
    [InlineData("\"site\": \"y6\"", "\"site\": \"y9\"")]
    [InlineData("\"cause\": \"gamma\"", "\"cause\": \"γ\"")]
    [InlineData("\"reading\": \"column\"", "\"reading\": \"col\"")]
    [InlineData("\"mode\": \"absolute\"", "\"mode\": \"relative\"")]
    [InlineData("\"source\": \"self-sampled\"", "\"source\": \"text\"")]
    [InlineData("\"schema\": \"outlier-manifest/1\"", "\"schema\": \"outlier-manifest/0\"")]
    [InlineData("\"tokens_sha256\": \"cccc", "\"tokens_sha256\": \"CCCC")]
    [InlineData("\"path\": \"config.json\"", "\"path\": \"/abs/config.json\"")]
    [InlineData("\"layer\": 0,", "\"layer\": -1,")]
    [InlineData("\"top_k\": 16", "\"top_k\": 16, \"extra\": 1")]
    [InlineData("\"bos\": true,", "")]
    public void A_broken_manifest_fails_validation(string from, string to)
    {
        string text = ManifestWriter.ToText(SampleManifest.Create());
        Assert.Contains(from, text);
        int at = text.IndexOf(from, StringComparison.Ordinal);
        string broken = text[..at] + to + text[(at + from.Length)..];
        Assert.NotEmpty(ManifestSchemaValidator.Errors(broken));
    }
}
