using System.Text.Json;
using Json.Schema;

namespace Optimizer.Engine.Tests.Manifest;

/// <summary>Validates manifest text against docs/outlier-manifest-1.schema.json with JsonSchema.Net.</summary>
internal static class ManifestSchemaValidator
{
    private static readonly Lazy<JsonSchema> Schema = new(() => JsonSchema.FromText(File.ReadAllText(RepositoryPaths.ManifestSchema)));

    /// <summary>The validation errors (JSON pointer: message); empty when the text is valid.</summary>
    public static IReadOnlyList<string> Errors(string manifestText)
    {
        using var doc = JsonDocument.Parse(manifestText);
        EvaluationResults results = Schema.Value.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid) return Array.Empty<string>();
        var errors = new List<string>();
        foreach (EvaluationResults detail in results.Details ?? new List<EvaluationResults>())
        {
            if (detail.Errors is null) continue;
            foreach (var pair in detail.Errors) errors.Add($"{detail.InstanceLocation}: {pair.Key}: {pair.Value}");
        }
        if (errors.Count == 0) errors.Add("invalid");
        return errors;
    }
}
