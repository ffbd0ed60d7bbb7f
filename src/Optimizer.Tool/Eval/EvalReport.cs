using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Optimizer.Tool.Cli;

namespace Optimizer.Tool.Eval;

/// <summary>
/// The result of <c>eval</c>: what was scored and how well the model predicted it. <see cref="WriteText"/> prints it for
/// people (perplexity with 4 significant digits); <see cref="RenderJson"/> prints the deterministic fields as JSON
/// (timing is left out so that the same model and text give the same bytes).
/// </summary>
public sealed record EvalReport(
    string Model,
    string TextFile,
    int TextTokens,
    int TokensUsed,
    long TokensScored,
    int Windows,
    int Context,
    int Batch,
    string Device,
    double MeanNll,
    TimeSpan Elapsed)
{
    /// <summary>The schema name written as the first key of the JSON form.</summary>
    public const string Schema = "outlier-opt-eval/1";

    /// <summary>exp(mean NLL).</summary>
    public double Perplexity => Math.Exp(MeanNll);

    /// <summary>Scored tokens per second of evaluation time.</summary>
    public double TokensPerSecond => Elapsed.TotalSeconds > 0 ? TokensScored / Elapsed.TotalSeconds : 0;

    /// <summary>Writes the human summary.</summary>
    public void WriteText(TextWriter writer)
    {
        string used = TokensUsed < TextTokens ? $" (first {Units.Count(TokensUsed)} used)" : "";
        var rows = new (string Key, string Value)[]
        {
            ("Model", Model),
            ("Text", $"{TextFile}: {Units.Count(TextTokens)} tokens{used}"),
            ("Windows", $"{Units.Count(Windows)} of up to {Units.Count(Context)} tokens, batch {Units.Count(Batch)}, device {Device}"),
            ("Tokens scored", Units.Count(TokensScored)),
            ("Mean NLL", $"{Units.Significant(MeanNll, 4)} nats/token"),
            ("Perplexity", Units.Significant(Perplexity, 4)),
            ("Speed", $"{Units.Rate(TokensPerSecond)} tokens/s ({Elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} s)"),
        };
        int width = rows.Max(r => r.Key.Length) + 2;
        foreach (var (key, value) in rows) writer.WriteLine((key + ":").PadRight(width) + value);
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
            w.WriteString("text", TextFile);
            w.WriteNumber("text_tokens", TextTokens);
            w.WriteNumber("tokens_used", TokensUsed);
            w.WriteNumber("tokens_scored", TokensScored);
            w.WriteNumber("windows", Windows);
            w.WriteNumber("context", Context);
            w.WriteNumber("batch", Batch);
            w.WriteString("device", Device);
            // Rounded to 4 significant digits, as everywhere in machine output, so that the file is stable across CPUs.
            w.WriteNumber("mean_nll", double.Parse(Units.Significant(MeanNll, 4), CultureInfo.InvariantCulture));
            w.WriteNumber("perplexity", double.Parse(Units.Significant(Perplexity, 4), CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
