using System.Text;
using Optimizer.Engine.Manifest;

namespace Optimizer.Engine.Tests.Manifest;

public sealed class ManifestReaderTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "outlier-opt-manifest-tests", Guid.NewGuid().ToString("N"));

    public ManifestReaderTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_written_manifest_reads_back_and_writes_the_same_bytes()
    {
        string path = Write("m.json", ManifestWriter.ToText(SampleManifest.Create()));
        OutlierManifest read = ManifestReader.Load(path);
        Assert.Equal(File.ReadAllBytes(path), ManifestWriter.ToUtf8(read));
        Assert.Equal("tiny-llama", read.Model.Name);
        Assert.Null(read.Findings.MassiveActivations[0].Ratio);
        Assert.Equal(new OtcReference("row", 2), read.Findings.ChannelOutliers[1].Otc);
        Assert.Equal(16, read.Options.TopK);
    }

    [Fact]
    public void Unknown_keys_are_ignored()
    {
        string text = ManifestWriter.ToText(SampleManifest.Create());
        text = text.Replace("\"schema\": \"outlier-manifest/1\",", "\"schema\": \"outlier-manifest/1\",\n  \"later_section\": [ { \"x\": 1 } ],");
        OutlierManifest read = ManifestReader.Load(Write("m.json", text));
        Assert.Equal(3, read.Census.Count);
    }

    [Fact]
    public void Invalid_json_is_OOPT1090_with_file_and_line()
    {
        string path = Write("bad.json", "{\n  \"schema\": \"outlier-manifest/1\",\n  \"tool\": ,\n}");
        var ex = Assert.Throws<OptimizerException>(() => ManifestReader.Load(path));
        Assert.Equal(ErrorCodes.ManifestInvalid, ex.Code);
        Assert.Equal(path, ex.File);
        Assert.Equal(3, ex.Line);
    }

    [Fact]
    public void A_missing_required_key_is_OOPT1090_naming_where()
    {
        string text = ManifestWriter.ToText(SampleManifest.Create()).Replace("\"tokens_sha256\"", "\"tokens_sha\"");
        string path = Write("missing.json", text);
        var ex = Assert.Throws<OptimizerException>(() => ManifestReader.Load(path));
        Assert.Equal(ErrorCodes.ManifestInvalid, ex.Code);
        Assert.Contains("tokens_sha256", ex.Message);
        Assert.True(ex.Line > 1);
    }

    [Fact]
    public void A_value_of_the_wrong_type_is_OOPT1090_with_its_json_path()
    {
        string text = ManifestWriter.ToText(SampleManifest.Create()).Replace("\"top_k\": 16", "\"top_k\": \"sixteen\"");
        var ex = Assert.Throws<OptimizerException>(() => ManifestReader.Load(Write("type.json", text)));
        Assert.Equal(ErrorCodes.ManifestInvalid, ex.Code);
        Assert.Contains("$.options.top_k", ex.Message);
    }

    [Fact]
    public void A_null_where_a_string_is_required_is_OOPT1090()
    {
        string text = ManifestWriter.ToText(SampleManifest.Create()).Replace("\"name\": \"tiny-llama\"", "\"name\": null");
        var ex = Assert.Throws<OptimizerException>(() => ManifestReader.Load(Write("null.json", text)));
        Assert.Equal(ErrorCodes.ManifestInvalid, ex.Code);
    }

    [Theory]
    [InlineData("outlier-manifest/2", "OOPT1091")]
    [InlineData("something-else", "OOPT1091")]
    public void Another_schema_is_OOPT1091(string schema, string code)
    {
        string text = ManifestWriter.ToText(SampleManifest.Create()).Replace("outlier-manifest/1", schema);
        var ex = Assert.Throws<OptimizerException>(() => ManifestReader.Load(Write("schema.json", text)));
        Assert.Equal(code, ex.Code);
        Assert.Contains(schema, ex.Message);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{\"tool\": {}}")]
    [InlineData("{\"schema\": 1}")]
    public void Not_a_manifest_object_is_OOPT1090(string text)
    {
        var ex = Assert.Throws<OptimizerException>(() => ManifestReader.Load(Write("x.json", text)));
        Assert.Equal(ErrorCodes.ManifestInvalid, ex.Code);
    }

    [Fact]
    public void A_missing_file_is_OOPT1008_naming_it()
    {
        string path = Path.Combine(_folder, "nope.json");
        var ex = Assert.Throws<OptimizerException>(() => ManifestReader.Load(path));
        Assert.Equal(ErrorCodes.FileUnreadable, ex.Code);
        Assert.Equal(path, ex.File);
    }

    private string Write(string name, string text)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }
}
