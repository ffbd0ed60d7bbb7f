using System.Text;
using Optimizer.Engine.Manifest;

namespace Optimizer.Tool.Report;

/// <summary>
/// Renders an outlier manifest as one self-contained HTML page: inline CSS, inline SVG charts, no scripts and no
/// external resources. Well-formed XHTML as well, and deterministic: the same manifest gives the same bytes.
/// </summary>
public static class ReportPage
{
    /// <summary>The default number of rows per findings table before "… and N more".</summary>
    public const int DefaultMaxRows = 25;

    /// <summary>The page for <paramref name="manifest"/>, at most <paramref name="maxRows"/> rows per table.</summary>
    public static string Render(OutlierManifest manifest, int maxRows = DefaultMaxRows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        var sb = new StringBuilder(1 << 16);
        string title = $"Outlier report: {manifest.Model.Name}";
        sb.Append("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
          .Append("<title>").Append(Html.Escape(title)).Append("</title>\n")
          .Append("<style>").Append(ReportStyle.Css).Append("</style>\n</head>\n<body>\n");
        AppendHeader(sb, manifest);
        sb.Append("<main>\n");
        AppendCards(sb, manifest.Findings);
        AppendFacts(sb, manifest);
        sb.Append(LayerChartsSection.Render(manifest)).Append('\n');
        sb.Append(ProfilesSection.Render(manifest)).Append('\n');
        sb.Append(MassiveActivationSection.Render(manifest, maxRows)).Append('\n');
        sb.Append(ChannelOutlierSection.Render(manifest, maxRows)).Append('\n');
        sb.Append(OptimizeSection.Render(manifest, maxRows)).Append('\n');
        sb.Append("<footer>Rendered by ").Append(Html.Escape(manifest.Tool.Name)).Append(' ').Append(Html.Escape(manifest.Tool.Version))
          .Append(" from an ").Append(OutlierManifest.SchemaId).Append(" manifest. The manifest holds every value shown here.</footer>\n");
        sb.Append("</main>\n</body>\n</html>\n");
        return sb.ToString();
    }

    private static void AppendHeader(StringBuilder sb, OutlierManifest m)
    {
        ManifestArchitecture a = m.Model.Architecture;
        sb.Append("<header class=\"top\"><div class=\"inner\"><h1>").Append(Html.Escape(m.Model.Name)).Append("</h1><p>")
          .Append(Html.Escape($"{a.ModelType} · {a.Layers} layers · hidden {a.HiddenSize} · {a.AttentionHeads} heads ({a.KvHeads} kv) · "
              + $"{Html.Count(a.Parameters)} parameters · calibration: {m.Calibration.Source} · MA thresholds: {m.Options.Ma.Mode}"))
          .Append("</p></div></header>\n");
    }

    private static void AppendCards(StringBuilder sb, ManifestFindings f)
    {
        sb.Append("<div class=\"cards\">");
        Card(sb, f.MassiveActivations.Count, "MA occurrences", f.MassiveActivations.Count > 0 ? "hot" : "cool");
        Card(sb, f.Births.Count, "MA families (births)", f.Births.Count > 0 ? "hot" : "cool");
        Card(sb, f.SuperWeights.Count, "super weights", f.SuperWeights.Count > 0 ? "hot" : "cool");
        Card(sb, f.ChannelOutliers.Count, "channel outliers", f.ChannelOutliers.Count > 0 ? "warm" : "cool");
        Card(sb, f.OutlierTriggeringChannels.Count, "OTCs in W_q", f.OutlierTriggeringChannels.Count > 0 ? "warm" : "cool");
        Card(sb, f.NearThreshold.Count, "near-threshold", "");
        sb.Append("</div>\n");
    }

    private static void Card(StringBuilder sb, int count, string label, string css) =>
        sb.Append($"<div class=\"card {css}\"><div class=\"n\">{Html.Count(count)}</div><div class=\"l\">{Html.Escape(label)}</div></div>");

    private static void AppendFacts(StringBuilder sb, OutlierManifest m)
    {
        sb.Append("<div class=\"facts\">");
        Facts(sb, "Model", ReportFacts.Model(m.Model));
        Facts(sb, "Calibration", ReportFacts.Calibration(m.Calibration));
        Facts(sb, "Options and thresholds", ReportFacts.Options(m.Options));
        sb.Append("</div>\n");
    }

    private static void Facts(StringBuilder sb, string heading, IEnumerable<KeyValuePair<string, string>> pairs)
    {
        sb.Append("<div><h3>").Append(Html.Escape(heading)).Append("</h3><dl>");
        foreach (var (key, value) in pairs)
        {
            string shown = value.Length > 80 ? value[..77] + "…" : value;
            sb.Append("<dt>").Append(Html.Escape(key)).Append("</dt><dd>").Append(Html.Escape(shown)).Append("</dd>");
        }
        sb.Append("</dl></div>");
    }
}
