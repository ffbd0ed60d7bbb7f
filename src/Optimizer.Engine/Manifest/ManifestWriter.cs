using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Manifest;

/// <summary>
/// Serializes an <see cref="OutlierManifest"/> exactly as docs/manifest.md specifies: keys in the documented order,
/// arrays sorted (<see cref="ManifestOrdering"/>), statistics rounded to 4 significant digits
/// (<see cref="ManifestNumbers"/>), UTF-8 without BOM, LF line endings, 2-space indentation, a trailing newline.
/// </summary>
public static class ManifestWriter
{
    private static readonly JsonWriterOptions Options = new()
    {
        Indented = true,
        IndentCharacter = ' ',
        IndentSize = 2,
        NewLine = "\n",
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The manifest as UTF-8 bytes.</summary>
    public static byte[] ToUtf8(OutlierManifest manifest)
    {
        OutlierManifest m = ManifestOrdering.Normalize(manifest);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            w.WriteString("schema", OutlierManifest.SchemaId);
            w.WriteStartObject("tool");
            w.WriteString("name", m.Tool.Name);
            w.WriteString("version", m.Tool.Version);
            w.WriteEndObject();
            WriteModel(w, m.Model);
            WriteOptions(w, m.Options);
            WriteCalibration(w, m.Calibration);
            ManifestSectionWriter.WriteCensus(w, m.Census);
            ManifestSectionWriter.WriteProfiles(w, m.Profiles);
            ManifestSectionWriter.WriteFindings(w, m.Findings);
            OptimizeSectionWriter.Write(w, m);
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>The manifest as text.</summary>
    public static string ToText(OutlierManifest manifest) => Encoding.UTF8.GetString(ToUtf8(manifest));

    /// <summary>Writes the manifest to <paramref name="path"/> atomically (temp file + rename).</summary>
    public static void Write(string path, OutlierManifest manifest)
    {
        byte[] bytes = ToUtf8(manifest);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    private static void WriteModel(Utf8JsonWriter w, ManifestModel model)
    {
        w.WriteStartObject("model");
        w.WriteString("name", model.Name);
        ManifestArchitecture a = model.Architecture;
        w.WriteStartObject("architecture");
        w.WriteString("model_type", a.ModelType);
        w.WriteNumber("layers", a.Layers);
        w.WriteNumber("hidden_size", a.HiddenSize);
        w.WriteNumber("intermediate_size", a.IntermediateSize);
        w.WriteNumber("attention_heads", a.AttentionHeads);
        w.WriteNumber("kv_heads", a.KvHeads);
        w.WriteNumber("head_dim", a.HeadDim);
        w.WriteNumber("vocab_size", a.VocabSize);
        w.WriteNumber("parameters", a.Parameters);
        w.WriteBoolean("tied_embeddings", a.TiedEmbeddings);
        w.WriteBoolean("qkv_bias", a.QkvBias);
        WriteExact(w, "rope_theta", a.RopeTheta);
        WriteExact(w, "rms_norm_eps", a.RmsNormEps);
        // Family features, only where the model has them (a plain llama manifest is unchanged).
        if (a.RopeScaling is not null) w.WriteString("rope_scaling", a.RopeScaling);
        if (a.QkNorm) w.WriteBoolean("qk_norm", true);
        w.WriteEndObject();
        WriteFiles(w, "files", model.Files);
        w.WriteEndObject();
    }

    private static void WriteOptions(Utf8JsonWriter w, ManifestOptions o)
    {
        w.WriteStartObject("options");
        w.WriteStartObject("ma");
        w.WriteString("mode", o.Ma.Mode);
        WriteExact(w, "absolute_threshold", o.Ma.AbsoluteThreshold);
        WriteExact(w, "relative_threshold", o.Ma.RelativeThreshold);
        WriteExact(w, "scale_free_factor", o.Ma.ScaleFreeFactor);
        WriteExact(w, "relative_threshold_scale_free", o.Ma.RelativeThresholdScaleFree);
        WriteExact(w, "near_threshold_fraction", o.Ma.NearThresholdFraction);
        w.WriteEndObject();
        w.WriteStartObject("co");
        w.WriteString("rule", o.Co.Rule);
        WriteExact(w, "ratio", o.Co.Ratio);
        w.WriteStartArray("sites");
        foreach (string site in o.Co.Sites) w.WriteStringValue(site);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartObject("gamma");
        WriteExact(w, "ratio", o.Gamma.Ratio);
        w.WriteEndObject();
        w.WriteStartObject("otc");
        WriteExact(w, "ratio", o.Otc.Ratio);
        w.WriteEndObject();
        w.WriteNumber("top_k", o.TopK);
        w.WriteEndObject();
    }

    private static void WriteCalibration(Utf8JsonWriter w, ManifestCalibration c)
    {
        w.WriteStartObject("calibration");
        w.WriteString("source", c.Source);
        WriteFiles(w, "files", c.Files);
        if (c.Seed is long seed) w.WriteNumber("seed", seed);
        else w.WriteNull("seed");
        if (c.Sampling is { } sampling)
        {
            w.WriteStartObject("sampling");
            WriteExact(w, "temperature", sampling.Temperature);
            w.WriteNumber("top_k", sampling.TopK);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("sampling");
        }
        w.WriteNumber("sequences", c.Sequences);
        w.WriteNumber("sequence_length", c.SequenceLength);
        w.WriteBoolean("bos", c.Bos);
        w.WriteNumber("tokens", c.Tokens);
        w.WriteString("tokens_sha256", c.TokensSha256);
        w.WriteEndObject();
    }

    private static void WriteFiles(Utf8JsonWriter w, string name, IReadOnlyList<ManifestFile> files)
    {
        w.WriteStartArray(name);
        foreach (var f in files)
        {
            w.WriteStartObject();
            w.WriteString("path", f.Path);
            w.WriteNumber("bytes", f.Bytes);
            w.WriteString("sha256", f.Sha256);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>A statistic: rounded to 4 significant digits.</summary>
    internal static void WriteStat(Utf8JsonWriter w, string name, double value)
    {
        w.WritePropertyName(name);
        w.WriteRawValue(ManifestNumbers.Format(value, name), skipInputValidation: true);
    }

    /// <summary>A statistic array element.</summary>
    internal static void WriteStatValue(Utf8JsonWriter w, double value, string what) =>
        w.WriteRawValue(ManifestNumbers.Format(value, what), skipInputValidation: true);

    /// <summary>A configuration value: written exactly, in its shortest round-trip form.</summary>
    internal static void WriteExact(Utf8JsonWriter w, string name, double value)
    {
        w.WritePropertyName(name);
        w.WriteRawValue(ManifestNumbers.FormatExact(value), skipInputValidation: true);
    }
}
