using System.Text;
using Optimizer.Engine.Manifest;

namespace Optimizer.Tool.Report;

/// <summary>The per-layer charts: maximum |activation| of the residual stream and of y6 (log scale), with the MA
/// threshold and the birth layers marked; and the largest |x| / token-median ratio at the same sites.</summary>
internal static class LayerChartsSection
{
    private static readonly (string Site, string Label, string Color, bool Dashed, double Offset)[] Sites =
    {
        ("attn.y1", "residual in (attn.y1)", SvgPalette.ResidualAttnIn, false, -0.3),
        ("y1", "residual mid (y1)", SvgPalette.ResidualMid, false, -0.1),
        ("y6", "y6 (down_proj input)", SvgPalette.Y6, true, 0.1),
        ("y8", "residual out (y8)", SvgPalette.ResidualOut, false, 0.3),
    };

    public static string Render(OutlierManifest m)
    {
        var sb = new StringBuilder();
        sb.Append("<section id=\"layers\"><h2>Activation magnitude by layer</h2>");
        int layers = ReportFacts.LayerCount(m);
        if (m.Census.Count == 0 || layers == 0)
        {
            sb.Append(ReportCells.None("The manifest has no census, so there is nothing to chart."));
            sb.Append("</section>");
            return sb.ToString();
        }
        var births = m.Findings.Births.Select(b => b.Layer).Distinct().OrderBy(l => l)
            .Select(l => new ChartMark(l, $"MA birth (layer {l})")).ToList();

        string mode = m.Options.Ma.Mode;
        var thresholds = new List<ChartMark>();
        if (mode == MaOptions.Absolute)
            thresholds.Add(new ChartMark(m.Options.Ma.AbsoluteThreshold, $"MA threshold |x| > {Html.Number(m.Options.Ma.AbsoluteThreshold)}"));
        sb.Append("<figure>")
          .Append(LogLineChart.Render("layer-max", "Maximum |activation| per layer", "max |x| (log scale)", layers,
              Series(m, layers, c => c.MaxAbs), thresholds, births))
          .Append("<figcaption>Largest |x| per layer over all calibration tokens, at the residual stream (the layer's input, after attention, ")
          .Append("and its output) and at y6, the input of down_proj where MAs are born. ")
          .Append(mode == MaOptions.Absolute ? "The dashed line is the absolute MA threshold." : $"MA thresholds are {Html.Escape(mode)} (relative to the model's own statistics).")
          .Append("</figcaption></figure>");

        double relative = mode == MaOptions.Absolute ? m.Options.Ma.RelativeThreshold : m.Options.Ma.RelativeThresholdScaleFree;
        var ratioMarks = new List<ChartMark> { new(relative, $"ratio threshold {Html.Number(relative)}×") };
        sb.Append("<figure>")
          .Append(LogLineChart.Render("layer-ratio", "Largest |x| relative to the token median per layer", "|x| / token median", layers,
              Series(m, layers, c => c.MaxTokenRatio), ratioMarks, births))
          .Append("<figcaption>The largest ratio of |x| to the median |x| of the same token at that site: how far an entry stands out of its own token.</figcaption></figure>");
        sb.Append("</section>");
        return sb.ToString();
    }

    private static List<ChartSeries> Series(OutlierManifest m, int layers, Func<CensusEntry, double> value)
    {
        var series = new List<ChartSeries>();
        foreach (var (site, label, color, dashed, offset) in Sites)
        {
            var values = new double?[layers];
            foreach (CensusEntry row in m.Census)
            {
                if (row.Site == site && row.Layer >= 0 && row.Layer < layers) values[row.Layer] = value(row);
            }
            if (values.Any(v => v.HasValue)) series.Add(new ChartSeries(site, label, color, dashed, offset, values));
        }
        return series;
    }
}
