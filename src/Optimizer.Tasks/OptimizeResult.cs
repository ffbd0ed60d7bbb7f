using System.Runtime.Serialization;
using System.Runtime.Serialization.Json;

namespace Optimizer.Tasks;

/// <summary>
/// The result file of <c>dotnet-outlier-opt optimize --result-file</c> (schema <c>outlier-opt-result/1</c>): the files
/// written, the evaluation, and whether the quality gate passed.
/// </summary>
public sealed class OptimizeResult
{
    /// <summary>The schema this reader understands.</summary>
    public const string Schema = "outlier-opt-result/1";

    private OptimizeResult(string model, IReadOnlyList<OptimizeOutput> outputs, bool gatePassed, string? gateReason,
        double? perplexityIncrease, double? klDivergence)
    {
        Model = model;
        Outputs = outputs;
        GatePassed = gatePassed;
        GateReason = gateReason;
        PerplexityIncrease = perplexityIncrease;
        KlDivergence = klDivergence;
    }

    /// <summary>The output name of the model.</summary>
    public string Model { get; }

    /// <summary>The files written.</summary>
    public IReadOnlyList<OptimizeOutput> Outputs { get; }

    /// <summary>Whether the quality gate passed (true when no gate was set).</summary>
    public bool GatePassed { get; }

    /// <summary>Why the gate failed, as the tool words it.</summary>
    public string? GateReason { get; }

    /// <summary>The measured relative perplexity increase (a fraction), when evaluated.</summary>
    public double? PerplexityIncrease { get; }

    /// <summary>The measured mean KL divergence, when evaluated.</summary>
    public double? KlDivergence { get; }

    /// <summary>Reads and checks a result file; throws <see cref="InvalidDataException"/> when it is not the documented shape.</summary>
    public static OptimizeResult Read(string path)
    {
        ResultJson? json;
        try
        {
            var serializer = new DataContractJsonSerializer(typeof(ResultJson));
            using var stream = File.OpenRead(path);
            json = (ResultJson?)serializer.ReadObject(stream);
        }
        catch (SerializationException ex)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON: {ex.Message}", ex);
        }
        if (json is null || json.Schema != Schema)
            throw new InvalidDataException($"'{path}' does not have \"schema\": \"{Schema}\".");
        var outputs = new List<OptimizeOutput>();
        foreach (var output in json.Outputs ?? new List<OutputJson>())
        {
            if (string.IsNullOrEmpty(output.Path) || !Path.IsPathRooted(output.Path))
                throw new InvalidDataException($"'{path}' lists an output without an absolute \"path\".");
            outputs.Add(new OptimizeOutput(output.Path!, output.Kind ?? "", output.Bytes ?? 0, output.Sha256 ?? ""));
        }
        return new OptimizeResult(json.Model ?? "", outputs, json.Gate?.Passed ?? true, json.Gate?.Reason,
            json.Evaluation?.PerplexityIncrease, json.Evaluation?.KlDivergence);
    }

    [DataContract]
    private sealed class ResultJson
    {
        [DataMember(Name = "schema")] public string? Schema { get; set; }
        [DataMember(Name = "model")] public string? Model { get; set; }
        [DataMember(Name = "outputs")] public List<OutputJson>? Outputs { get; set; }
        [DataMember(Name = "evaluation")] public EvaluationJson? Evaluation { get; set; }
        [DataMember(Name = "gate")] public GateJson? Gate { get; set; }
    }

    [DataContract]
    private sealed class OutputJson
    {
        [DataMember(Name = "path")] public string? Path { get; set; }
        [DataMember(Name = "kind")] public string? Kind { get; set; }
        [DataMember(Name = "bytes")] public long? Bytes { get; set; }
        [DataMember(Name = "sha256")] public string? Sha256 { get; set; }
    }

    [DataContract]
    private sealed class EvaluationJson
    {
        [DataMember(Name = "perplexity_increase")] public double? PerplexityIncrease { get; set; }
        [DataMember(Name = "kl_divergence")] public double? KlDivergence { get; set; }
    }

    [DataContract]
    private sealed class GateJson
    {
        [DataMember(Name = "passed")] public bool? Passed { get; set; }
        [DataMember(Name = "reason")] public string? Reason { get; set; }
    }
}
