using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Pipeline;

namespace Optimizer.Tool.Optimize;

/// <summary>
/// The machine-mode result file (<c>--result-file</c>, schema <c>outlier-opt-result/1</c>, docs/cli.md): the files
/// written (absolute paths), the evaluation of the written variant and the quality gate. Written last, atomically; on
/// a failed gate it lists no outputs and says why.
/// </summary>
public static class OptimizeResultFile
{
    /// <summary>The value of the <c>schema</c> key.</summary>
    public const string SchemaId = "outlier-opt-result/1";

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        IndentSize = 2,
        NewLine = "\n",
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The result as JSON text.</summary>
    public static string ToText(OptimizeResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("schema", SchemaId);
            w.WriteString("model", result.OutputName);
            w.WriteStartArray("outputs");
            foreach (var o in result.Outputs)
            {
                w.WriteStartObject();
                w.WriteString("path", o.Path);
                w.WriteString("kind", o.Kind);
                w.WriteNumber("bytes", o.Bytes);
                w.WriteString("sha256", o.Sha256);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            QualityGateResult gate = result.Gate;
            w.WriteStartObject("evaluation");
            w.WriteNumber("perplexity_original", gate.PerplexityOriginal);
            w.WriteNumber("perplexity_optimized", gate.PerplexityOptimized);
            w.WriteNumber("perplexity_increase", gate.PerplexityIncrease);
            w.WriteNumber("kl_divergence", gate.KlDivergence);
            w.WriteEndObject();
            w.WriteStartObject("gate");
            w.WriteBoolean("passed", gate.Passed);
            if (!gate.Passed) w.WriteString("reason", gate.Reason);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Writes the result file atomically.</summary>
    public static void Write(string path, OptimizeResult result) => AtomicFile.WriteText(path, ToText(result));
}
