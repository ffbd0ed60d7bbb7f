using System.Text;
using Optimizer.Engine.Manifest;

namespace Optimizer.Tool.Report;

/// <summary>
/// The channel profiles at the norm outputs as small multiples (one panel per layer and norm), with the outlier
/// channels highlighted: γ outliers (|γ_j| / median |γ| above <c>gamma.ratio</c>) and the COs found at that norm's sites.
/// Models with many layers show the layers that have outlier channels (and the first and last), at most 16.
/// </summary>
internal static class ProfilesSection
{
    private const int MaxLayers = 16;

    public static string Render(OutlierManifest m)
    {
        var sb = new StringBuilder();
        sb.Append("<section id=\"profiles\"><h2>Channel profiles at the norms</h2>");
        if (m.Profiles.Count == 0)
        {
            sb.Append(ReportCells.None("The manifest has no channel profiles."));
            sb.Append("</section>");
            return sb.ToString();
        }
        double gammaRatio = m.Options.Gamma.Ratio;
        // By position, not by (layer, norm): a manifest with a repeated pair still renders.
        var outliers = m.Profiles.Select(p => Outliers(m, p, gammaRatio)).ToList();
        List<int> allLayers = m.Profiles.Select(p => p.Layer).Distinct().OrderBy(l => l).ToList();
        List<int> shown = allLayers;
        if (allLayers.Count > MaxLayers)
        {
            var interesting = m.Profiles.Where((p, i) => outliers[i].Count > 0).Select(p => p.Layer);
            shown = new[] { allLayers[0], allLayers[^1] }.Concat(interesting).Distinct().OrderBy(l => l).Take(MaxLayers).ToList();
        }
        sb.Append("<p class=\"legend-row\">")
          .Append(Swatch(SvgPalette.PreGamma, "pre-γ abs-max (normalized input)"))
          .Append(Swatch(SvgPalette.Gamma, "γ (norm weight)"))
          .Append(Swatch(SvgPalette.PostGamma, "post-γ abs-max (norm output)"))
          .Append(Swatch(SvgPalette.Outlier, $"outlier channel (|γ| > {Html.Number(gammaRatio)}× median, or a CO at this norm)"))
          .Append("</p>");
        if (shown.Count < allLayers.Count)
        {
            sb.Append($"<p class=\"sub\">Showing {shown.Count} of {allLayers.Count} layers: those with outlier channels, and the first and last; "
                + "the manifest has the profiles of every layer.</p>");
        }
        sb.Append("<div class=\"multiples\">");
        for (int i = 0; i < m.Profiles.Count; i++)
        {
            NormProfile p = m.Profiles[i];
            if (!shown.Contains(p.Layer)) continue;
            IReadOnlySet<int> marked = outliers[i];
            string norm = p.Norm switch { "attn" => "input_layernorm", "ffn" => "post_attention_layernorm", _ => p.Norm };
            sb.Append("<figure class=\"panel\"><figcaption><b>Layer ")
              .Append(ReportCells.Int(p.Layer)).Append(" · ").Append(Html.Escape(p.Norm)).Append("</b> <span class=\"sub\">")
              .Append(Html.Escape(norm)).Append(", ").Append(Html.Count(p.Gamma.Count)).Append(" channels</span>");
            if (marked.Count > 0)
            {
                sb.Append(" <span class=\"flag\">outliers: ")
                  .Append(Html.Escape(string.Join(", ", marked.Order().Take(8))))
                  .Append(marked.Count > 8 ? $" … ({marked.Count})" : "").Append("</span>");
            }
            sb.Append("</figcaption>").Append(ChannelProfilePanel.Render(p, marked)).Append("</figure>");
        }
        sb.Append("</div></section>");
        return sb.ToString();
    }

    private static IReadOnlySet<int> Outliers(OutlierManifest m, NormProfile p, double gammaRatio)
    {
        var set = new SortedSet<int>();
        double median = Median(p.Gamma.Select(Math.Abs));
        if (median > 0)
        {
            for (int j = 0; j < p.Gamma.Count; j++)
            {
                if (Math.Abs(p.Gamma[j]) / median > gammaRatio) set.Add(j);
            }
        }
        string[] sites = p.Norm == "attn" ? new[] { "attn.norm_in", "attn.y2" } : new[] { "norm_in", "y2" };
        foreach (ChannelOutlierRecord o in m.Findings.ChannelOutliers)
        {
            if (o.Layer == p.Layer && sites.Contains(o.Site) && o.Channel < p.Gamma.Count) set.Add(o.Channel);
        }
        return set;
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        if (sorted.Length == 0) return 0;
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static string Swatch(string color, string label) =>
        $"<span class=\"swatch\"><i style=\"background:{color}\"></i>{Html.Escape(label)}</span>";
}
