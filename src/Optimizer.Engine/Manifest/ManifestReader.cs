using System.Text.Json;
using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Manifest;

/// <summary>
/// Reads an <c>outlier-manifest/1</c> file. Unknown keys are ignored (later stages add sections); a missing key, a value
/// of the wrong type or a null where a value is required is an <see cref="OptimizerException"/>
/// (<see cref="ErrorCodes.ManifestInvalid"/>) naming the file, the line and column, and the JSON path.
/// </summary>
public static class ManifestReader
{
    private static readonly JsonSerializerOptions SerializerOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Skip,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        MaxDepth = 64,
    };

    /// <summary>The largest manifest file read (256 MiB; a 126-layer model with every finding is far below).</summary>
    public const long MaxBytes = 256L << 20;

    /// <summary>The most layers a manifest may describe.</summary>
    public const int MaxLayers = 1024;

    /// <summary>The largest width (hidden, intermediate, head size, heads) a manifest may describe.</summary>
    public const int MaxWidth = 1 << 20;

    /// <summary>The largest vocabulary a manifest may describe.</summary>
    public const int MaxVocabulary = 1 << 24;

    private static readonly string[] LayerFields = { "layer", "first_layer", "last_layer" };

    private static readonly string[] NonNegativeFields =
    {
        "channel", "residual_channel", "channels", "row", "column", "index", "token_position", "token_id", "token_index",
        "tokens", "sequences", "sequence_length", "bytes", "context", "rope_pair", "top_k",
    };

    /// <summary>Reads and checks the manifest at <paramref name="path"/> (a regular file of at most <see cref="MaxBytes"/>).</summary>
    public static OutlierManifest Load(string path) => Parse(ReadBytes(path), path);

    /// <summary>The bytes of the manifest file at <paramref name="path"/>: a regular file of at most <see cref="MaxBytes"/>.</summary>
    public static byte[] ReadBytes(string path) => JsonFile.ReadAllBytes(path, "manifest file", MaxBytes, ErrorCodes.ManifestInvalid);

    /// <summary>Parses manifest bytes; <paramref name="path"/> only names the source in errors.</summary>
    public static OutlierManifest Parse(ReadOnlySpan<byte> utf8, string path)
    {
        CheckSchema(utf8, path);
        try
        {
            OutlierManifest? manifest = JsonSerializer.Deserialize<OutlierManifest>(utf8, SerializerOptions);
            return manifest ?? throw new OptimizerException(ErrorCodes.ManifestInvalid, "The manifest is null, not an object.", path, 1, 1);
        }
        catch (JsonException ex)
        {
            string where = string.IsNullOrEmpty(ex.Path) ? "" : $" (at {ex.Path})";
            throw JsonFile.Invalid(ex, ErrorCodes.ManifestInvalid, $"The manifest does not have the outlier-manifest/1 shape{where}", path);
        }
    }

    private static void CheckSchema(ReadOnlySpan<byte> utf8, string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            throw JsonFile.Invalid(ex, ErrorCodes.ManifestInvalid, "The manifest is not valid JSON", path);
        }
        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new OptimizerException(ErrorCodes.ManifestInvalid, $"The manifest must be a JSON object, not {root.ValueKind}.", path, 1, 1);
            string? schema = JsonFile.GetString(root, "schema");
            if (schema is null)
                throw new OptimizerException(ErrorCodes.ManifestInvalid, "The manifest has no \"schema\" string.", path, 1, 1);
            if (schema != OutlierManifest.SchemaId)
                throw new OptimizerException(ErrorCodes.ManifestSchemaUnsupported,
                    $"The manifest's schema is '{schema}'; this tool reads {OutlierManifest.SchemaId}.", path, 1, 1);
            CheckBounds(root, path);
        }
    }

    /// <summary>
    /// What the reader does not take on trust: the architecture's sizes within the bounds above, every layer index inside
    /// the architecture's layers, indices and counts non-negative, and every number finite (OOPT1092).
    /// </summary>
    private static void CheckBounds(JsonElement root, string path)
    {
        int layers = MaxLayers;
        if (root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.Object
            && model.TryGetProperty("architecture", out var architecture) && architecture.ValueKind == JsonValueKind.Object)
        {
            layers = Bounded(architecture, "layers", 1, MaxLayers, path) ?? MaxLayers;
            foreach (string name in new[] { "hidden_size", "intermediate_size", "attention_heads", "kv_heads", "head_dim" })
                Bounded(architecture, name, 1, MaxWidth, path);
            Bounded(architecture, "vocab_size", 1, MaxVocabulary, path);
        }
        Walk(root, "$", null, layers, path);
    }

    private static int? Bounded(JsonElement obj, string name, long min, long max, string path)
    {
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Number) return null;
        if (!value.TryGetDouble(out double d) || !double.IsFinite(d))
            throw new OptimizerException(ErrorCodes.ManifestValueNotFinite, $"model.architecture.{name} is {value.GetRawText()}, not a finite number.", path);
        if (!value.TryGetInt64(out long v) || v < min || v > max)
            throw new OptimizerException(ErrorCodes.ManifestInvalid,
                $"model.architecture.{name} is {value.GetRawText()}; a manifest describes {min} to {max}.", path);
        return (int)v;
    }

    private static void Walk(JsonElement element, string jsonPath, string? property, int layers, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject()) Walk(p.Value, jsonPath + "." + p.Name, p.Name, layers, path);
                break;
            case JsonValueKind.Array:
                int i = 0;
                foreach (var item in element.EnumerateArray()) Walk(item, $"{jsonPath}[{i++}]", property, layers, path);
                break;
            case JsonValueKind.Number:
                if (!element.TryGetDouble(out double value) || !double.IsFinite(value))
                    throw new OptimizerException(ErrorCodes.ManifestValueNotFinite,
                        $"{jsonPath} is {element.GetRawText()}, not a finite number.", path);
                if (property is null) break;
                if (Array.IndexOf(LayerFields, property) >= 0 && (value < 0 || value >= layers || value != Math.Floor(value)))
                    throw new OptimizerException(ErrorCodes.ManifestInvalid,
                        $"{jsonPath} is {element.GetRawText()}; the model has layers 0 to {layers - 1}.", path);
                if (Array.IndexOf(NonNegativeFields, property) >= 0 && value < 0)
                    throw new OptimizerException(ErrorCodes.ManifestInvalid, $"{jsonPath} is {element.GetRawText()}; it cannot be negative.", path);
                break;
        }
    }
}
