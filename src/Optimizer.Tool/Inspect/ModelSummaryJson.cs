using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Optimizer.Engine.Formats;

namespace Optimizer.Tool.Inspect;

/// <summary>
/// The JSON form of a <see cref="ModelSummary"/> (<c>inspect --json</c>): schema <c>outlier-opt-inspect/1</c>, fixed key
/// order, sorted lists, no timestamps and no absolute paths, so the same model always gives the same bytes.
/// </summary>
public static class ModelSummaryJson
{
    /// <summary>The schema name written as the first key.</summary>
    public const string Schema = "outlier-opt-inspect/1";

    /// <summary>The summary as indented JSON text ending with a newline.</summary>
    public static string Render(ModelSummary summary)
    {
        using var buffer = new MemoryStream();
        var options = new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using (var w = new Utf8JsonWriter(buffer, options))
        {
            w.WriteStartObject();
            w.WriteString("schema", Schema);
            w.WriteString("model", summary.Name);
            WriteArchitecture(w, summary.Config);
            w.WriteNumber("parameters", summary.ParameterCount);
            w.WriteString("tokenizer", summary.TokenizerKind);
            w.WriteStartArray("dtypes");
            foreach (var row in summary.DTypes)
            {
                w.WriteStartObject();
                w.WriteString("dtype", row.DType);
                w.WriteNumber("tensors", row.Tensors);
                w.WriteNumber("elements", row.Elements);
                w.WriteNumber("bytes", row.Bytes);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("files");
            foreach (var file in summary.Files)
            {
                w.WriteStartObject();
                w.WriteString("name", file.Name);
                w.WriteNumber("bytes", file.Bytes);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("total_bytes", summary.TotalBytes);
            w.WriteStartArray("tensors");
            foreach (var tensor in summary.Tensors)
            {
                w.WriteStartObject();
                w.WriteString("name", tensor.Name);
                w.WriteString("dtype", summary.StorageOf(tensor).Type);
                w.WriteStartArray("shape");
                foreach (long d in tensor.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteNumber("bytes", summary.StorageOf(tensor).Bytes);
                w.WriteString("file", tensor.File.Replace('\\', '/'));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void WriteArchitecture(Utf8JsonWriter w, ModelConfig c)
    {
        w.WriteStartObject("architecture");
        w.WriteString("model_type", c.ModelType);
        w.WriteStartArray("architectures");
        foreach (string a in c.Architectures ?? Array.Empty<string>()) w.WriteStringValue(a);
        w.WriteEndArray();
        w.WriteNumber("num_hidden_layers", c.NumHiddenLayers);
        w.WriteNumber("hidden_size", c.HiddenSize);
        w.WriteNumber("num_attention_heads", c.NumAttentionHeads);
        w.WriteNumber("num_key_value_heads", c.KeyValueHeads);
        w.WriteNumber("head_dim", c.HeadDim);
        w.WriteNumber("intermediate_size", c.IntermediateSize);
        w.WriteNumber("vocab_size", c.VocabSize);
        w.WriteNumber("max_position_embeddings", c.MaxPositionEmbeddings);
        w.WriteNumber("rope_theta", c.RopeTheta);
        w.WriteNumber("rms_norm_eps", c.RmsNormEps);
        w.WriteBoolean("tie_word_embeddings", c.TieWordEmbeddings);
        w.WriteBoolean("qkv_bias", c.HasQkvBias);
        w.WriteBoolean("o_bias", c.HasOutputBias);
        if (c.TorchDtype is { } dtype) w.WriteString("torch_dtype", dtype);
        else w.WriteNull("torch_dtype");
        w.WriteEndObject();
    }
}
