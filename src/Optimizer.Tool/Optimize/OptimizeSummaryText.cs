using System.Globalization;
using Optimizer.Engine.Pipeline;
using Optimizer.Tool.Cli;

namespace Optimizer.Tool.Optimize;

/// <summary>The closing summary of a human-mode optimize run: transforms, the variant table and the files written.</summary>
public static class OptimizeSummaryText
{
    /// <summary>Writes the summary of <paramref name="result"/>.</summary>
    public static void Write(OptimizeResult result, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(writer);
        var ci = CultureInfo.InvariantCulture;
        writer.WriteLine($"optimize: {result.OutputName}");
        if (result.Manifest?.Transforms is { } transforms)
        {
            string kept = string.Join(", ", transforms.Applied.Select(t => t.Status switch
            {
                "kept" => t.Name,
                "not-selected" => t.Name + " (not written)",
                _ => t.Name + " (rolled back)",
            }));
            writer.WriteLine($"  transforms: {(kept.Length == 0 ? "none" : kept)}; max |delta logit| of the exact ones {Units.Significant(result.MaxAbsDeltaLogit, 3)}");
        }
        else
        {
            writer.WriteLine($"  max |delta logit| of the exact transforms: {Units.Significant(result.MaxAbsDeltaLogit, 3)}");
        }
        writer.WriteLine();
        var table = new TextTable("variant", ">PPL", ">dPPL %", ">KLD", ">top-1", ">file size");
        foreach (var v in result.Variants)
        {
            table.AddRow(v.Selected ? v.Name + " *" : v.Name,
                v.Perplexity.ToString("0.0000", ci),
                (v.PerplexityIncrease * 100).ToString("+0.00;-0.00;0.00", ci),
                // A KL divergence of identical models can come out as a float-rounding -1e-8; show it as 0.
                Math.Max(v.KlDivergence, 0).ToString("0.00000", ci),
                (v.Top1Agreement * 100).ToString("0.00", ci) + "%",
                v.FileBytes is long bytes ? Units.Bytes(bytes) : "-");
        }
        table.Write(writer);
        if (result.Selection is { } selection)
        {
            writer.WriteLine($"  * written: {selection.Selected}: {selection.Reason}");
            if (selection.Warning is { } warning) writer.WriteLine($"  warning: {warning}");
        }
        writer.WriteLine();
        QualityGateResult gate = result.Gate;
        writer.WriteLine(gate.Passed
            ? $"  quality gate: passed (perplexity {(gate.PerplexityIncrease * 100).ToString("+0.00;-0.00;0.00", ci)}%, KLD {gate.KlDivergence.ToString("0.00000", ci)})"
            : $"  quality gate: FAILED: {gate.Reason}");
        foreach (var o in result.Outputs) writer.WriteLine($"  wrote {o.Path} ({Units.Bytes(o.Bytes)})");
    }
}
