using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Optimizer.Engine.Formats.HfExport;

/// <summary>
/// The exported <c>config.json</c>: the source model's own config.json with every key, order and number spelling kept
/// (or, for a model not read from a Hugging Face folder, its parsed config), with <c>torch_dtype</c> set to the float
/// type of the export and <c>quantization_config</c> replaced: removed for float output, ours for int8/int4 (appended
/// last). Indented with two spaces, UTF-8 without BOM, ending in a newline.
/// </summary>
internal static class HfConfigJson
{
    private static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The text of config.json for the export of <paramref name="model"/>.</summary>
    public static string Build(ModelFolder model, DType floatType, IntQuantizationConfig? quantization)
    {
        JsonObject root = Source(model);
        root["torch_dtype"] = TorchName(floatType);
        root.Remove("quantization_config");
        if (quantization is not null) root["quantization_config"] = quantization.ToJson();
        return root.ToJsonString(WriteOptions) + "\n";
    }

    /// <summary>PyTorch's name of a float type: <c>float32</c>, <c>float16</c>, <c>bfloat16</c>.</summary>
    public static string TorchName(DType type) => type switch
    {
        DType.F32 => "float32",
        DType.F16 => "float16",
        DType.BF16 => "bfloat16",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Not a weight float type."),
    };

    private static JsonObject Source(ModelFolder model)
    {
        bool hfFolder = model.Files.Any(f => f.RelativePath == "config.json");
        if (hfFolder)
        {
            string path = Path.Combine(model.Path, "config.json");
            byte[] bytes = JsonFile.ReadAllBytes(path);
            try
            {
                var node = JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
                if (node is JsonObject obj) return obj;
            }
            catch (JsonException ex)
            {
                throw JsonFile.Invalid(ex, ErrorCodes.ConfigInvalid, "config.json is not valid JSON", path);
            }
            throw new OptimizerException(ErrorCodes.ConfigInvalid, "config.json is not a JSON object.", path);
        }
        return JsonNode.Parse(model.Config.ToJson())!.AsObject();
    }
}
