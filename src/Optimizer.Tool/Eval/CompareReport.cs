using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Optimizer.Engine.Evaluation;
using Optimizer.Tool.Cli;

namespace Optimizer.Tool.Eval;

/// <summary>
/// The result of <c>eval</c> with candidates (<c>--compare</c>, <c>--weight-quant</c>, <c>--activation-quant</c>): the
/// reference model's perplexity and, per candidate, its perplexity, the change, the mean KL divergence from the
/// reference and the top-1 agreement. <see cref="RenderJson"/> writes the deterministic fields (schema
/// <c>outlier-opt-eval-compare/1</c>), numbers rounded to 4 significant digits.
/// </summary>
public sealed record CompareReport(
    string Model,
    string? CompareModel,
    string TextFile,
    int TextTokens,
    int TokensUsed,
    int Windows,
    int Context,
    int Batch,
    string Device,
    string? Calibration,
    IReadOnlyList<ComparisonResult> Results,
    TimeSpan Elapsed)
{
    /// <summary>The schema name written as the first key of the JSON form.</summary>
    public const string Schema = "outlier-opt-eval-compare/1";

    /// <summary>Scored tokens (the same for every candidate).</summary>
    public long TokensScored => Results.Count > 0 ? Results[0].Tokens : 0;

    /// <summary>The reference perplexity.</summary>
    public double ReferencePerplexity => Results.Count > 0 ? Results[0].ReferencePerplexity : double.NaN;

    /// <summary>Writes the human summary and the candidate table.</summary>
    public void WriteText(TextWriter writer)
    {
        string used = TokensUsed < TextTokens ? $" (first {Units.Count(TokensUsed)} used)" : "";
        var rows = new List<(string Key, string Value)>
        {
            ("Model", Model),
            ("Text", $"{TextFile}: {Units.Count(TextTokens)} tokens{used}"),
            ("Windows", $"{Units.Count(Windows)} of up to {Units.Count(Context)} tokens, batch {Units.Count(Batch)}, device {Device}"),
            ("Tokens scored", Units.Count(TokensScored)),
            ("Perplexity", Units.Significant(ReferencePerplexity, 4)),
        };
        if (CompareModel is not null) rows.Insert(1, ("Compared with", CompareModel));
        if (Calibration is not null) rows.Add(("Calibration", Calibration));
        rows.Add(("Time", Elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s"));
        int width = rows.Max(r => r.Key.Length) + 2;
        foreach (var (key, value) in rows) writer.WriteLine((key + ":").PadRight(width) + value);
        writer.WriteLine();

        var table = new TextTable("Candidate", ">Perplexity", ">Change", ">KL (nats/token)", ">Top-1 agreement");
        foreach (ComparisonResult r in Results)
        {
            table.AddRow(r.Name, Units.Significant(r.Perplexity, 4), Percent(r.PerplexityIncrease),
                Units.Significant(r.MeanKlDivergence, 4), (100 * r.Top1Agreement).ToString("0.00", CultureInfo.InvariantCulture) + "%");
        }
        table.Write(writer, "");
    }

    /// <summary>The deterministic fields as indented JSON ending with a newline.</summary>
    public string RenderJson()
    {
        using var buffer = new MemoryStream();
        var options = new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using (var w = new Utf8JsonWriter(buffer, options))
        {
            w.WriteStartObject();
            w.WriteString("schema", Schema);
            w.WriteString("model", Model);
            if (CompareModel is null) w.WriteNull("compare");
            else w.WriteString("compare", CompareModel);
            w.WriteString("text", TextFile);
            w.WriteNumber("text_tokens", TextTokens);
            w.WriteNumber("tokens_used", TokensUsed);
            w.WriteNumber("tokens_scored", TokensScored);
            w.WriteNumber("windows", Windows);
            w.WriteNumber("context", Context);
            w.WriteNumber("batch", Batch);
            w.WriteString("device", Device);
            if (Calibration is null) w.WriteNull("calibration");
            else w.WriteString("calibration", Calibration);
            Number(w, "perplexity", ReferencePerplexity);
            w.WriteStartArray("candidates");
            foreach (ComparisonResult r in Results)
            {
                w.WriteStartObject();
                w.WriteString("name", r.Name);
                Number(w, "perplexity", r.Perplexity);
                Number(w, "perplexity_increase", r.PerplexityIncrease);
                Number(w, "kl_divergence", r.MeanKlDivergence);
                Number(w, "top1_agreement", r.Top1Agreement);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    // Rounded to 4 significant digits, as everywhere in machine output, so that the file is stable across CPUs.
    // A value that is not finite (a candidate that gives a token probability 0) is written as null.
    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, double.Parse(Units.Significant(value, 4), CultureInfo.InvariantCulture));
        else w.WriteNull(name);
    }

    private static string Percent(double fraction)
    {
        string text = Units.Significant(100 * fraction, 3);
        return (fraction > 0 ? "+" : "") + text + "%";
    }
}
