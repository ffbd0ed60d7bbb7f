using System.Text.Json;
using System.Text.Json.Nodes;

namespace Optimizer.Engine.Formats.HfExport;

/// <summary>
/// The <c>quantization_config</c> object of an int8/int4 folder's <c>config.json</c> (docs/safetensors-int.md):
/// <c>{"quant_method": "outlier-opt", "format": "int8-per-channel" | "int4-grouped", "version": 1, "bits": 8 | 4,
/// "group_size": null | n, "symmetric": true, "scale_dtype": "float16" | "float32", "quantized_embeddings": bool}</c>.
/// </summary>
public sealed record IntQuantizationConfig(int Bits, int GroupSize, DType ScaleDType, bool QuantizedEmbeddings)
{
    /// <summary>The <c>quant_method</c> value that marks our layout.</summary>
    public const string QuantMethod = "outlier-opt";

    /// <summary>The layout version this code writes and reads.</summary>
    public const int Version = 1;

    /// <summary><c>int8-per-channel</c> or <c>int4-grouped</c>.</summary>
    public string Format => Bits == 8 ? "int8-per-channel" : "int4-grouped";

    /// <summary>The object as written into config.json (fixed key order).</summary>
    public JsonObject ToJson() => new()
    {
        ["quant_method"] = QuantMethod,
        ["format"] = Format,
        ["version"] = Version,
        ["bits"] = Bits,
        ["group_size"] = Bits == 4 ? GroupSize : null,
        ["symmetric"] = true,
        ["scale_dtype"] = ScaleDType == DType.F16 ? "float16" : "float32",
        ["quantized_embeddings"] = QuantizedEmbeddings,
    };

    /// <summary>
    /// Reads the <c>quantization_config</c> of the config.json at <paramref name="configPath"/>: null when it has none or
    /// another <c>quant_method</c>; an <see cref="ErrorCodes.IntCheckpointInvalid"/> error when ours is malformed.
    /// </summary>
    public static IntQuantizationConfig? TryLoad(string configPath)
    {
        if (!File.Exists(configPath)) return null;
        using var document = JsonFile.Parse(configPath, ErrorCodes.ConfigInvalid, "config.json");
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("quantization_config", out var q)
            || q.ValueKind != JsonValueKind.Object || JsonFile.GetString(q, "quant_method") != QuantMethod)
            return null;
        OptimizerException Bad(string message) =>
            new(ErrorCodes.IntCheckpointInvalid, $"\"quantization_config\": {message} (see docs/safetensors-int.md).", configPath);

        if (!q.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.Number
            || !version.TryGetInt32(out int v) || v != Version)
            throw Bad($"\"version\" must be {Version}");
        int bits = JsonFile.GetString(q, "format") switch
        {
            "int8-per-channel" => 8,
            "int4-grouped" => 4,
            var other => throw Bad($"\"format\" must be \"int8-per-channel\" or \"int4-grouped\", not {(other is null ? "missing" : $"\"{other}\"")}"),
        };
        if (!q.TryGetProperty("bits", out var b) || b.ValueKind != JsonValueKind.Number || !b.TryGetInt32(out int stated) || stated != bits)
            throw Bad($"\"bits\" must be {bits} for this format");
        int group = 0;
        if (bits == 4 && (!q.TryGetProperty("group_size", out var g) || g.ValueKind != JsonValueKind.Number
            || !g.TryGetInt32(out group) || group < 1))
            throw Bad("\"group_size\" must be a positive integer for int4");
        if (!q.TryGetProperty("symmetric", out var symmetric) || symmetric.ValueKind != JsonValueKind.True)
            throw Bad("\"symmetric\" must be true");
        DType scale = JsonFile.GetString(q, "scale_dtype") switch
        {
            "float16" => DType.F16,
            "float32" => DType.F32,
            _ => throw Bad("\"scale_dtype\" must be \"float16\" or \"float32\""),
        };
        bool embeddings = q.TryGetProperty("quantized_embeddings", out var e) && e.ValueKind == JsonValueKind.True;
        return new IntQuantizationConfig(bits, group, scale, embeddings);
    }
}
