using System.Text;
using Optimizer.Engine.Manifest;

namespace Optimizer.Tool.Report;

/// <summary>The channel-wise outlier part of the report: COs with their causes (strongest first) and the OTCs of W_q.</summary>
internal static class ChannelOutlierSection
{
    private static readonly string[] Causes = { "gamma", "otc", "residual", "unknown" };

    public static string Render(OutlierManifest m, int limit)
    {
        ManifestFindings f = m.Findings;
        var sb = new StringBuilder();
        sb.Append("<section id=\"channel-outliers\"><h2>Channel-wise outliers</h2>");
        if (f.ChannelOutliers.Count == 0)
        {
            sb.Append(ReportCells.None("No channel-wise outliers were found."));
        }
        else
        {
            var counts = Causes.Select(c => (c, n: f.ChannelOutliers.Count(o => o.Cause == c))).Where(x => x.n > 0)
                .Select(x => $"{ReportCells.Badge(x.c)} {Html.Count(x.n)}");
            int other = f.ChannelOutliers.Count(o => !Causes.Contains(o.Cause));
            sb.Append($"<p>{Html.Count(f.ChannelOutliers.Count)} channels at {Html.Count(f.ChannelOutliers.Select(o => (o.Layer, o.Site)).Distinct().Count())} "
                + $"sites, strongest first. Causes: {string.Join(" ", counts)}{(other > 0 ? $" {ReportCells.Badge("other")} {Html.Count(other)}" : "")}.</p>");
            var table = new HtmlTable("channel-outliers", "#Layer", "Site", "#Channel", "#Median |x|", "#Ratio", "#Tokens", "Cause", "Evidence");
            foreach (ChannelOutlierRecord o in f.ChannelOutliers.OrderByDescending(o => o.Ratio))
            {
                string evidence = o.Cause switch
                {
                    "gamma" when o.GammaRatio is double g => $"|γ| = {Html.Number(g)} × median",
                    _ when o.Otc is { } otc => $"W_q {Html.Escape(otc.Reading)} {ReportCells.Int(otc.Index)}",
                    _ when o.GammaRatio is double g => $"|γ| = {Html.Number(g)} × median",
                    _ => "—",
                };
                table.Add(ReportCells.Int(o.Layer), Html.Escape(o.Site), ReportCells.Int(o.Channel), Html.Number(o.MedianAbs), Html.Number(o.Ratio),
                    Html.Percent(o.TokenFraction), ReportCells.Badge(o.Cause), evidence);
            }
            sb.Append(table.Render(limit, "channel outliers"));
        }

        sb.Append("<h3>Outlier-triggering channels in W_q</h3>");
        if (f.OutlierTriggeringChannels.Count == 0)
        {
            sb.Append(ReportCells.None("No outlier-triggering channels were found."));
        }
        else
        {
            var otcs = new HtmlTable("otcs", "#Layer", "Tensor", "Reading", "#Index", "#RoPE pair", "#Score");
            foreach (OtcRecord o in f.OutlierTriggeringChannels)
            {
                string reading = o.Reading switch
                {
                    "row" => "row (A: q output channel)",
                    "column" => "column (B: input channel)",
                    _ => o.Reading,
                };
                otcs.Add(ReportCells.Int(o.Layer), $"<code>{Html.Escape(o.Tensor)}</code>", Html.Escape(reading), ReportCells.Int(o.Index),
                    o.RopePair is int pair ? ReportCells.Int(pair) : "—", Html.Number(o.Score));
            }
            sb.Append(otcs.Render(limit, "OTCs"));
        }
        sb.Append("</section>");
        return sb.ToString();
    }
}
