using System.Globalization;
using System.Text;
using Optimizer.Engine.Manifest;

namespace Optimizer.Tool.Report;

/// <summary>
/// The optimize part of the report (docs/manifest.md, the sections <c>optimize</c> adds): the candidate files and why
/// the written one won, the other variants, the transforms and whether the written file contains them, and the stored
/// type, relative error and error compensation of every tensor. Empty for an analysis manifest.
/// </summary>
internal static class OptimizeSection
{
    public static string Render(OutlierManifest m, int limit)
    {
        if (m.Evaluation is null && m.Quantization is null && m.Transforms is null) return "";
        var sb = new StringBuilder();
        sb.Append("<section id=\"optimize\"><h2>Optimized file</h2>");
        if (m.Evaluation is { } evaluation) AppendEvaluation(sb, evaluation);
        if (m.Transforms is { } transforms) AppendTransforms(sb, transforms);
        if (m.Quantization is { } quantization) AppendQuantization(sb, quantization, limit);
        sb.Append("</section>");
        return sb.ToString();
    }

    private static void AppendEvaluation(StringBuilder sb, ManifestEvaluation e)
    {
        string text = e.Text.Source == "text" ? string.Join(", ", e.Text.Files.Select(f => f.Path)) : $"self-sampled (seed {e.Text.Seed})";
        sb.Append($"<p>Scored on {Html.Count(e.Text.Tokens)} held-out tokens ({Html.Escape(text)}), windows of {Html.Count(e.Text.Context)}; "
            + "KL divergence from the original model is the primary metric.</p>");
        var candidates = e.Variants.Where(v => v.Candidate is not null).ToArray();
        if (candidates.Length > 0)
        {
            sb.Append("<h3>Candidate files</h3>");
            if (e.Selection is { } s)
            {
                EvaluationVariantRecord written = candidates.FirstOrDefault(c => c.Name == s.Selected) ?? candidates[0];
                string rule = s.Rule switch
                {
                    "lowest-kl" => "the lowest KL divergence on the held-out text",
                    "tie-to-simpler" => $"within {Html.Percent(s.TieTolerance)} of the lowest KL divergence, and simpler",
                    _ => "no candidate had a finite score, so the simplest",
                };
                string constraint = s.Constraint is { } c ? $" among the candidates the named {Html.Escape(c.Replace(",", " and "))} allowed" : "";
                sb.Append($"<p>Written: <strong>{Html.Escape(s.Selected)}</strong>, {rule}{constraint} (KL divergence {Html.Number(Math.Max(0, written.KlDivergence))}). "
                    + $"Search <code>{Html.Escape(s.Search)}</code>, mitigations <code>{Html.Escape(s.Mitigations)}</code>; candidates within "
                    + $"{Html.Percent(s.TieTolerance)} of the lowest KL divergence tie and the simpler one wins.</p>");
                if (s.BetterExcluded is { } better)
                    sb.Append($"<p class=\"warn\">Candidate {Html.Escape(better)} scored better but was excluded by the named {Html.Escape(s.Constraint ?? "options")}.</p>");
            }
            EvaluationVariantRecord? stock = candidates.FirstOrDefault(c => c.Name == "stock");
            var table = new HtmlTable("candidates", "Candidate", "Mitigated", "Importance matrix", "Compensated", "#Tensor bytes", "#PPL", "#ΔPPL",
                "#KL divergence", "#vs stock", "#Top-1");
            foreach (var c in candidates)
            {
                CandidateRecord r = c.Candidate!;
                string ratio = stock is not null && stock.KlDivergence > 0 ? (c.KlDivergence / stock.KlDivergence).ToString("0.00", CultureInfo.InvariantCulture) + "×" : "—";
                table.AddWithClass(r.Selected ? "emph" : null, Html.Escape(c.Name) + (r.Selected ? " ★" : ""), YesNo(c.Mitigated), YesNo(r.Imatrix),
                    YesNo(r.Compensated), r.TensorBytes is long bytes ? Html.Count(bytes) : "—", Html.Number(c.Perplexity), Signed(c.PerplexityIncrease),
                    Html.Number(Math.Max(0, c.KlDivergence)), ratio, Html.Percent(c.Top1Agreement));
            }
            sb.Append(table.Render(int.MaxValue, "candidates"));
        }
        var others = e.Variants.Where(v => v.Candidate is null).ToArray();
        if (others.Length > 0)
        {
            sb.Append("<h3>Other variants</h3><p>The original, the transformed float model, and activation quantization (fake quantization in the engine) "
                + "with and without the mitigations.</p>");
            var table = new HtmlTable("variants", "Variant", "Weights", "Activations", "Mitigated", "#PPL", "#ΔPPL", "#KL divergence", "#Top-1");
            foreach (var v in others)
                table.Add(Html.Escape(v.Name), Html.Escape(v.Weights), Html.Escape(v.Activations), YesNo(v.Mitigated), Html.Number(v.Perplexity),
                    Signed(v.PerplexityIncrease), Html.Number(Math.Max(0, v.KlDivergence)), Html.Percent(v.Top1Agreement));
            sb.Append(table.Render(int.MaxValue, "variants"));
        }
        QualityGateRecord g = e.Gate;
        sb.Append($"<p>Quality gate: {(g.Passed ? "passed" : "failed")} (perplexity {Signed(g.PerplexityIncrease)}, KL divergence {Html.Number(g.KlDivergence)}"
            + $"{(g.FailAbovePplIncrease is double p ? $"; limit {Html.Percent(p)}" : "")}{(g.FailAboveKld is double k ? $"; KL limit {Html.Number(k)}" : "")}).</p>");
    }

    private static void AppendTransforms(StringBuilder sb, ManifestTransforms t)
    {
        sb.Append("<h3>Transforms</h3>");
        if (t.Applied.Count == 0)
        {
            sb.Append(ReportCells.None($"Mitigations {string.Join(", ", t.Mitigations.DefaultIfEmpty("none"))}: no transform."));
            return;
        }
        sb.Append($"<p>Exact transforms verified on the calibration text: max |Δlogit| {Html.Number(t.MaxAbsDeltaLogit)}.</p>");
        var table = new HtmlTable("transforms", "Transform", "Exact", "Status", "Parameters", "#Layers", "#Channels", "#Scale min", "#Scale max");
        foreach (var a in t.Applied)
        {
            string status = a.Status switch
            {
                TransformEntry.Kept => "in the written file",
                TransformEntry.NotSelected => "verified, not written (an unmitigated candidate won)",
                TransformEntry.RolledBack => "rolled back (perplexity budget)",
                _ => a.Status,
            };
            table.Add(Html.Escape(a.Name), YesNo(a.Exact), Html.Escape(status),
                Html.Escape(string.Join(", ", a.Parameters.Select(p => $"{p.Name} = {p.Value}"))),
                Html.Count(a.Touched.Select(x => x.Layer).Distinct().Count()), Html.Count(a.Touched.Sum(x => (long)x.Channels.Count)),
                a.Touched.Count > 0 ? Html.Number(a.Touched.Min(x => x.MinScale)) : "—", a.Touched.Count > 0 ? Html.Number(a.Touched.Max(x => x.MaxScale)) : "—");
        }
        sb.Append(table.Render(int.MaxValue, "transforms"));
    }

    private static void AppendQuantization(StringBuilder sb, ManifestQuantization q, int limit)
    {
        sb.Append("<h3>Stored tensors</h3>");
        var types = q.Tensors.GroupBy(t => t.Type).OrderByDescending(g => g.Count()).Select(g => $"{Html.Escape(g.Key)} × {Html.Count(g.Count())}");
        sb.Append($"<p>{Html.Escape(q.Format)} {Html.Escape(q.Recipe)}{(q.GroupSize is int group ? $" (group {group})" : "")}: {string.Join(", ", types)}. "
            + $"Importance matrix: {(q.Imatrix ? "yes" : "no")}. ");
        var compensation = q.Compensation?.ToDictionary(c => c.Tensor, StringComparer.Ordinal);
        if (compensation is not null)
        {
            int done = compensation.Values.Count(c => c.Skipped is null);
            var skipped = compensation.Values.Where(c => c.Skipped is not null).GroupBy(c => c.Skipped!).Select(g => $"{Html.Count(g.Count())} ({Html.Escape(g.Key)})");
            sb.Append($"Error-compensating rounding: {Html.Count(done)} linear weights compensated"
                + (skipped.Any() ? $", plain rounding for {string.Join(", ", skipped)}" : "") + ".");
        }
        else
        {
            sb.Append("Error-compensating rounding: not used.");
        }
        sb.Append("</p>");
        var table = new HtmlTable("tensors", "Tensor", "Type", "#Relative RMSE", "Compensation");
        foreach (var t in q.Tensors.OrderByDescending(t => t.RelativeRmse))
        {
            string c = compensation is not null && compensation.TryGetValue(t.Name, out var record)
                ? record.Skipped is null ? $"λ = {Html.Number(record.Damping ?? 0)}" : $"plain ({Html.Escape(record.Skipped)})"
                : "—";
            table.Add($"<code>{Html.Escape(t.Name)}</code>", Html.Escape(t.Type), Html.Number(t.RelativeRmse), c);
        }
        sb.Append(table.Render(limit, "tensors"));
    }

    private static string YesNo(bool value) => value ? "yes" : "no";

    private static string Signed(double fraction) => (fraction * 100).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) + "%";
}
