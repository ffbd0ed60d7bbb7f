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

    /// <summary>Reads and checks the manifest at <paramref name="path"/>.</summary>
    public static OutlierManifest Load(string path)
    {
        if (!File.Exists(path))
            throw new OptimizerException(ErrorCodes.FileUnreadable, "The manifest file does not exist.", path);
        return Parse(JsonFile.ReadAllBytes(path), path);
    }

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
        }
    }
}
