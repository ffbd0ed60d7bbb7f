using System.Text;
using Optimizer.Engine.Manifest;

namespace Optimizer.Tool.Report;

/// <summary>The massive-activation part of the report: families by birth, counts by layer, residual channels, super
/// weights, near-threshold candidates and the occurrences themselves.</summary>
internal static class MassiveActivationSection
{
    public static string Render(OutlierManifest m, int limit)
    {
        ManifestFindings f = m.Findings;
        int layers = ReportFacts.LayerCount(m);
        var sb = new StringBuilder();
        sb.Append("<section id=\"massive-activations\"><h2>Massive activations</h2>");
        string mode = m.Options.Ma.Mode;
        if (f.MassiveActivations.Count == 0)
        {
            sb.Append(ReportCells.None($"No massive activations were found ({mode} thresholds)."));
        }
        else
        {
            int Count(string kind) => f.MassiveActivations.Count(a => a.Kind == kind);
            sb.Append($"<p>{ReportCells.Plural(f.MassiveActivations.Count, "occurrence")} in {ReportCells.Plural(f.Births.Count, "family", "families")}: "
                + $"{Html.Count(Count("birth"))} at the birth, {ReportCells.Plural(Count("tma"), "TMA")} (created inside a block), "
                + $"{Html.Count(Count("propagated"))} carried by the residual stream. Thresholds: {Html.Escape(mode)}.</p>");
        }

        if (f.Births.Count > 0)
        {
            sb.Append("<h3>Families by birth</h3>");
            var births = new HtmlTable("births", "#Layer", "Site", "Token", "Neuron → channel", "#Birth value", "Occurrences", "Residual layers", "#Max |x|");
            foreach (BirthRecord b in f.Births)
            {
                var members = f.MassiveActivations.Where(a => a.TokenPosition == b.TokenPosition
                    && (a.Channel == b.ResidualChannel || (a.Layer == b.Layer && a.Site == b.Site && a.Channel == b.Channel))).ToList();
                string? text = members.FirstOrDefault(a => a.TokenId == b.TokenId)?.TokenText;
                PropagationRecord? range = f.Propagation.FirstOrDefault(p => p.Channel == b.ResidualChannel);
                string counts = string.Join(" ", new[] { "birth", "tma", "propagated" }
                    .Select(k => (k, n: members.Count(a => a.Kind == k))).Where(x => x.n > 0)
                    .Select(x => $"{ReportCells.Badge(x.k)} {Html.Count(x.n)}"));
                births.Add(ReportCells.Int(b.Layer), Html.Escape(b.Site), ReportCells.Token(text, b.TokenId, b.TokenPosition),
                    $"{ReportCells.Int(b.Channel)} → {ReportCells.Int(b.ResidualChannel)}", Html.Number(b.Value), counts.Length == 0 ? "—" : counts,
                    range is null ? "—" : ReportCells.LayerRange(range.FirstLayer, range.LastLayer, layers),
                    members.Count == 0 ? "—" : Html.Number(members.Max(a => Math.Abs(a.Value))));
            }
            sb.Append(births.Render(limit, "families"));
        }

        if (f.MassiveActivations.Count > 0)
        {
            sb.Append("<h3>By layer</h3>");
            var byLayer = new HtmlTable("ma-by-layer", "#Layer", "#Birth", "#TMA", "#Propagated", "Sites", "#Max |x|");
            foreach (var group in f.MassiveActivations.GroupBy(a => a.Layer).OrderBy(g => g.Key))
            {
                byLayer.Add(ReportCells.Int(group.Key), Html.Count(group.Count(a => a.Kind == "birth")), Html.Count(group.Count(a => a.Kind == "tma")),
                    Html.Count(group.Count(a => a.Kind == "propagated")), Html.Escape(string.Join(", ", group.Select(a => a.Site).Distinct())),
                    Html.Number(group.Max(a => Math.Abs(a.Value))));
            }
            sb.Append(byLayer.Render(limit, "layers"));
        }

        if (f.Propagation.Count > 0)
        {
            sb.Append("<h3>Residual channels carrying MAs</h3>");
            var propagation = new HtmlTable("propagation", "#Channel", "Token positions", "Layers", "#Max |x|");
            foreach (PropagationRecord p in f.Propagation)
            {
                string positions = string.Join(", ", p.TokenPositions.Take(12).Select(t => ReportCells.Int(t)))
                    + (p.TokenPositions.Count > 12 ? $" … ({Html.Count(p.TokenPositions.Count)})" : "");
                propagation.Add(ReportCells.Int(p.Channel), positions, ReportCells.LayerRange(p.FirstLayer, p.LastLayer, layers), Html.Number(p.MaxAbs));
            }
            sb.Append(propagation.Render(limit, "channels"));
        }

        sb.Append("<h3>Super weights</h3>");
        if (f.SuperWeights.Count == 0)
        {
            sb.Append(ReportCells.None("No super weights (no MA is born at y6)."));
        }
        else
        {
            var weights = new HtmlTable("super-weights", "#Layer", "Tensor", "#Row (channel)", "#Column (neuron)", "#Weight", "#y6 value", "#Contribution", "#Share of y7");
            foreach (SuperWeightRecord w in f.SuperWeights)
            {
                weights.Add(ReportCells.Int(w.Layer), $"<code>{Html.Escape(w.Tensor)}</code>", ReportCells.Int(w.Row), ReportCells.Int(w.Column),
                    Html.Number(w.Weight), Html.Number(w.Y6Value), Html.Number(w.Contribution), Html.Percent(w.Share));
            }
            sb.Append(weights.Render(limit, "super weights"));
        }

        sb.Append("<h3>Near-threshold candidates</h3>");
        if (f.NearThreshold.Count == 0)
        {
            sb.Append(ReportCells.None("No entry came close to the thresholds without passing them."));
        }
        else
        {
            // Like the occurrences: the same entry on every calibration sequence is one row.
            var near = new HtmlTable("near-threshold", "#Layer", "Site", "Token", "#Channel", "#Tokens", "#Max |x|", "#Max ratio", "Failed test");
            foreach (var g in f.NearThreshold.GroupBy(n => (n.Layer, n.Site, n.Channel, n.TokenPosition, n.TokenId, n.Criterion)))
            {
                NearThresholdRecord n = g.MaxBy(a => Math.Abs(a.Value))!;
                near.Add(ReportCells.Int(n.Layer), Html.Escape(n.Site), ReportCells.Token(n.TokenText, n.TokenId, n.TokenPosition), ReportCells.Int(n.Channel),
                    Html.Count(g.Count()), Html.Number(n.Value), Html.Ratio(g.Any(a => a.Ratio is null) ? null : g.Max(a => a.Ratio)), ReportCells.Badge(n.Criterion));
            }
            sb.Append(near.Render(limit, "candidates"));
        }

        if (f.MassiveActivations.Count > 0)
        {
            // The same (layer, site, channel, token position) recurs once per calibration sequence: one row each.
            sb.Append("<h3>Occurrences</h3><p class=\"sub\">One row per layer, site, channel and token position; "
                + "\u201coccurrences\u201d counts the calibration tokens where it is an MA.</p>");
            var all = new HtmlTable("ma-occurrences", "#Layer", "Site", "Token", "#Channel", "#Occurrences", "#Max |x|", "#Max ratio", "Kind");
            var groups = f.MassiveActivations
                .GroupBy(a => (a.Layer, a.Site, a.Channel, a.TokenPosition, a.TokenId)); // in order of first appearance
            foreach (var g in groups)
            {
                MassiveActivationRecord first = g.MaxBy(a => Math.Abs(a.Value))!;
                string kinds = string.Join(" ", g.Select(a => a.Kind).Distinct().Select(ReportCells.Badge));
                all.AddWithClass(g.Any(a => a.Kind == "birth") ? "emph" : null, ReportCells.Int(g.Key.Layer), Html.Escape(g.Key.Site),
                    ReportCells.Token(first.TokenText, g.Key.TokenId, g.Key.TokenPosition), ReportCells.Int(g.Key.Channel), Html.Count(g.Count()),
                    Html.Number(first.Value), Html.Ratio(g.Any(a => a.Ratio is null) ? null : g.Max(a => a.Ratio)), kinds);
            }
            sb.Append(all.Render(limit, "rows"));
        }
        sb.Append("</section>");
        return sb.ToString();
    }
}
