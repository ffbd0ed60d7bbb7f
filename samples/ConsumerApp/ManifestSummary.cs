using System.Text.Json;

namespace ConsumerApp;

/// <summary>
/// A few lines about an outlier manifest (docs/manifest.md): the model, the calibration, how many outliers of each kind
/// were found, and the scalar values of any further section the tool wrote (transforms, quantization, evaluation).
/// </summary>
public static class ManifestSummary
{
    private static readonly HashSet<string> Described = new(StringComparer.Ordinal)
    {
        "schema", "tool", "model", "options", "calibration", "census", "profiles", "findings", "census_after", "transforms",
        "quantization", "evaluation",
    };

    public static void Print(Stream manifest, TextWriter output)
    {
        using var document = JsonDocument.Parse(manifest);
        var root = document.RootElement;
        output.WriteLine($"   manifest: {Text(root, "schema")} from {Text(root, "tool", "name")} {Text(root, "tool", "version")}");
        output.WriteLine($"   model: {Text(root, "model", "name")} ({Text(root, "model", "architecture", "model_type")}, "
            + $"{Text(root, "model", "architecture", "layers")} layers, hidden {Text(root, "model", "architecture", "hidden_size")}, "
            + $"{Text(root, "model", "architecture", "parameters")} parameters)");
        if (root.TryGetProperty("calibration", out var calibration))
            output.WriteLine($"   calibration: {Text(calibration, "source")}, {Text(calibration, "sequences")} sequences, {Text(calibration, "tokens")} tokens");
        if (root.TryGetProperty("findings", out var findings) && findings.ValueKind == JsonValueKind.Object)
        {
            var counts = findings.EnumerateObject()
                .Select(p => $"{p.Name.Replace('_', ' ')} {(p.Value.ValueKind == JsonValueKind.Array ? p.Value.GetArrayLength() : 1)}");
            output.WriteLine($"   findings: {string.Join(", ", counts)}");
        }
        if (root.TryGetProperty("transforms", out var transforms) && transforms.TryGetProperty("applied", out var applied)
            && applied.ValueKind == JsonValueKind.Array)
        {
            output.WriteLine($"   transforms: {string.Join(", ", applied.EnumerateArray().Select(t => $"{Text(t, "name")} ({Text(t, "status")})"))}");
        }
        if (root.TryGetProperty("quantization", out var quantization))
            output.WriteLine($"   quantization: {Text(quantization, "format")} {Text(quantization, "recipe")}");
        if (root.TryGetProperty("evaluation", out var evaluation) && evaluation.TryGetProperty("variants", out var variants)
            && variants.ValueKind == JsonValueKind.Array)
        {
            output.WriteLine($"   evaluation on {Text(evaluation, "text", "tokens")} tokens ({Text(evaluation, "text", "source")}):");
            foreach (var variant in variants.EnumerateArray())
            {
                output.WriteLine($"     {Text(variant, "name"),-28} perplexity {Text(variant, "perplexity"),-7} KL {Text(variant, "kl_divergence")}");
            }
        }
        foreach (var section in root.EnumerateObject().Where(p => !Described.Contains(p.Name)))
        {
            output.WriteLine($"   {section.Name}: {Scalars(section.Value)}");
        }
    }

    private static string Text(JsonElement element, params string[] path)
    {
        foreach (string name in path)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element)) return "?";
        }
        return element.ValueKind switch
        {
            JsonValueKind.String => element.GetString() ?? "",
            JsonValueKind.Object or JsonValueKind.Array => element.ValueKind.ToString().ToLowerInvariant(),
            _ => element.GetRawText(),
        };
    }

    private static string Scalars(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => string.Join(", ", element.EnumerateObject()
            .Select(p => p.Value.ValueKind switch
            {
                JsonValueKind.Object => $"{p.Name} {{{p.Value.EnumerateObject().Count()} entries}}",
                JsonValueKind.Array => $"{p.Name} [{p.Value.GetArrayLength()}]",
                _ => $"{p.Name} {p.Value.GetRawText().Trim('"')}",
            })),
        JsonValueKind.Array => $"{element.GetArrayLength()} entries",
        _ => element.GetRawText(),
    };
}
