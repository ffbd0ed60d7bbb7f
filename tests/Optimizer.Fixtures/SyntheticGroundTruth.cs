using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Optimizer.Fixtures;

/// <summary>
/// What was planted in a synthetic model and the exact values a forward pass of its stored weights must show, for
/// detection tests to compare against. Written beside the model as <see cref="FileName"/> (deterministic JSON).
/// </summary>
/// <param name="Schema">Always <see cref="SchemaName"/>.</param>
/// <param name="Model">Shape and storage of the model.</param>
/// <param name="MassiveActivation">The planted MA, or null.</param>
/// <param name="GammaOutliers">Planted γ outliers, in the order planted.</param>
/// <param name="QueryOutliers">Planted OTCs, in the order planted.</param>
public sealed record SyntheticGroundTruth(
    string Schema,
    SyntheticModelSummary Model,
    MassiveActivationTruth? MassiveActivation,
    IReadOnlyList<GammaOutlierTruth> GammaOutliers,
    IReadOnlyList<QueryOutlierTruth> QueryOutliers)
{
    /// <summary>The file name inside the model folder.</summary>
    public const string FileName = "ground-truth.json";

    /// <summary>The schema identifier.</summary>
    public const string SchemaName = "synthetic-ground-truth/1";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Whether nothing was planted.</summary>
    [JsonIgnore]
    public bool IsClean => MassiveActivation is null && GammaOutliers.Count == 0 && QueryOutliers.Count == 0;

    /// <summary>Indented JSON with snake_case keys and a trailing newline.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions).ReplaceLineEndings("\n") + "\n";

    /// <summary>Parses JSON written by <see cref="ToJson"/>.</summary>
    public static SyntheticGroundTruth FromJson(string json)
    {
        var truth = JsonSerializer.Deserialize<SyntheticGroundTruth>(json, JsonOptions)
            ?? throw new InvalidDataException("The ground truth JSON is null.");
        if (truth.Schema != SchemaName)
            throw new InvalidDataException($"Ground truth schema \"{truth.Schema}\" is not \"{SchemaName}\".");
        return truth;
    }

    /// <summary>Reads <see cref="FileName"/> from a model folder written by <see cref="SyntheticModelBuilder"/>.</summary>
    public static SyntheticGroundTruth Load(string modelFolder) =>
        FromJson(File.ReadAllText(Path.Combine(modelFolder, FileName)));
}
