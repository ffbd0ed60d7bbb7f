using System.Text.Json;
using System.Text.Json.Nodes;

namespace Optimizer.Fixtures;

/// <summary>
/// Compares two manifests (or any JSON documents written under the manifest's number rules) the way docs/manifest.md
/// ("Reproducibility") promises they agree across CPUs: the structure, every string, every boolean and every field the
/// schema types <c>integer</c> (layers, channels, token positions, counts, bytes) exactly; the measured numbers (schema
/// type <c>number</c>: max_abs, perplexity, …) within <see cref="RelativeTolerance"/> relative or
/// <see cref="AbsoluteTolerance"/> absolute. libtorch's float results differ in the last bits between CPUs
/// (Intel/AMD, AVX2/AVX-512), which the 4-significant-digit rounding turns into one unit in the 4th digit.
/// </summary>
public sealed class ManifestComparison
{
    /// <summary>Relative tolerance for measured numbers: two units in the 4th significant digit.</summary>
    public const double RelativeTolerance = 2e-3;

    /// <summary>Absolute tolerance for measured numbers close to zero (differences of cancelling float sums).</summary>
    public const double AbsoluteTolerance = 1e-6;

    /// <summary>
    /// Relative tolerance for the scores of an evaluated variant whose weights or activations are rounded to integers
    /// (int8/int4 fake quantization, GGUF block types): a last-bit difference in a smoothing scale flips single
    /// roundings, which moves perplexity and KL divergence by far more than the last bits (0.25% on the fixture with 256
    /// tokens). Such scores are reproducible across CPUs only statistically.
    /// </summary>
    public const double RoundedVariantRelativeTolerance = 0.02;

    /// <summary>Absolute tolerance for those scores (perplexity increase, top-1 agreement: about 1 token in 100).</summary>
    public const double RoundedVariantAbsoluteTolerance = 0.01;

    private readonly HashSet<string> _integerFields;

    /// <summary>A comparison whose exact fields are those <paramref name="schemaPath"/> types <c>integer</c>.</summary>
    public ManifestComparison(string schemaPath) => _integerFields = SchemaIntegerFields(schemaPath);

    /// <summary>
    /// The differences between <paramref name="expected"/> and <paramref name="actual"/> under the rules above, each
    /// as "path: expected vs actual"; empty when they agree.
    /// </summary>
    public IReadOnlyList<string> Differences(JsonNode? expected, JsonNode? actual)
    {
        var list = new List<string>();
        Compare(expected, actual, "$", null, false, list);
        return list;
    }

    /// <summary>True when two measured numbers agree within the tolerances.</summary>
    public static bool WithinTolerance(double expected, double actual) =>
        WithinTolerance(expected, actual, RelativeTolerance, AbsoluteTolerance);

    private static bool WithinTolerance(double expected, double actual, double relative, double absolute) =>
        expected == actual || Math.Abs(expected - actual) <= relative * Math.Max(Math.Abs(expected), Math.Abs(actual)) + absolute;

    /// <summary>An evaluated variant (evaluation.variants[i]) whose weights or activations are rounded to integers.</summary>
    private static bool IsRoundedVariant(JsonObject o) =>
        o["weights"] is JsonValue w && o["activations"] is JsonValue act && o.ContainsKey("perplexity") &&
        !(w.ToString() is "original" or "transformed" or "F32" && act.ToString() == "none");

    private void Compare(JsonNode? e, JsonNode? a, string path, string? property, bool rounded, List<string> list)
    {
        if (e is null || a is null)
        {
            if (e is not null || a is not null) list.Add($"{path}: {Show(e)} vs {Show(a)}");
            return;
        }
        switch (e)
        {
            case JsonObject eo when a is JsonObject ao:
            {
                var eKeys = eo.Select(p => p.Key).ToArray();
                var aKeys = ao.Select(p => p.Key).ToArray();
                if (!eKeys.SequenceEqual(aKeys))
                {
                    list.Add($"{path}: properties [{string.Join(", ", eKeys)}] vs [{string.Join(", ", aKeys)}]");
                    return;
                }
                bool inRounded = rounded || IsRoundedVariant(eo);
                foreach (string key in eKeys) Compare(eo[key], ao[key], $"{path}.{key}", key, inRounded, list);
                return;
            }
            case JsonArray ea when a is JsonArray aa:
                if (ea.Count != aa.Count)
                {
                    list.Add($"{path}: {ea.Count} items vs {aa.Count}");
                    return;
                }
                for (int i = 0; i < ea.Count; i++) Compare(ea[i], aa[i], $"{path}[{i}]", property, rounded, list);
                return;
            case JsonValue ev when a is JsonValue av:
            {
                var ek = ev.GetValueKind();
                var ak = av.GetValueKind();
                if (ek == JsonValueKind.Number && ak == JsonValueKind.Number)
                {
                    double x = ev.GetValue<double>(), y = av.GetValue<double>();
                    bool exact = property is not null && _integerFields.Contains(property);
                    bool agree = exact ? x == y
                        : rounded ? WithinTolerance(x, y, RoundedVariantRelativeTolerance, RoundedVariantAbsoluteTolerance)
                        : WithinTolerance(x, y);
                    if (!agree)
                        list.Add($"{path}: {Show(e)} vs {Show(a)}{(exact ? " (integer field, exact)" : "")}");
                    return;
                }
                if (ek != ak || ev.ToJsonString() != av.ToJsonString()) list.Add($"{path}: {Show(e)} vs {Show(a)}");
                return;
            }
            default:
                list.Add($"{path}: {Show(e)} vs {Show(a)}");
                return;
        }
    }

    private static string Show(JsonNode? node) => node is null ? "null" : node.ToJsonString();

    /// <summary>Property names the manifest schema types as <c>integer</c> (no name is typed both ways).</summary>
    public static HashSet<string> SchemaIntegerFields(string schemaPath)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        void Walk(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject o:
                    if (o["properties"] is JsonObject properties)
                        foreach (var (key, value) in properties)
                            if (value is JsonObject p && IsInteger(p["type"])) names.Add(key);
                    foreach (var (_, value) in o) Walk(value);
                    break;
                case JsonArray arr:
                    foreach (var item in arr) Walk(item);
                    break;
            }
        }
        Walk(JsonNode.Parse(File.ReadAllText(schemaPath)));
        return names;
    }

    private static bool IsInteger(JsonNode? type) => type switch
    {
        JsonValue v => v.GetValue<string>() == "integer",
        JsonArray a => a.Any(t => t?.GetValue<string>() == "integer"),
        _ => false,
    };
}
