using System.Text;

namespace Optimizer.Tool.Report;

/// <summary>One line of a <see cref="LogLineChart"/>: a value per layer (null where the manifest has none).</summary>
/// <remarks><see cref="Offset"/> shifts the points within the layer's band (-0.5..0.5), so that sites in forward order
/// stand side by side instead of on top of each other.</remarks>
public sealed record ChartSeries(string Id, string Label, string Color, bool Dashed, double Offset, IReadOnlyList<double?> Values);

/// <summary>A horizontal reference line (e.g. the MA threshold) or a vertical layer marker (e.g. an MA birth).</summary>
public sealed record ChartMark(double Value, string Label);

/// <summary>
/// An inline SVG line chart over layers with a logarithmic value axis: grid, decade ticks and labels, axis titles,
/// legend, one polyline with point markers (and tooltips) per series, threshold lines and layer markers.
/// </summary>
public static class LogLineChart
{
    private const double Width = 1160, Height = 380;
    private const double Left = 72, Right = 24, Top = 48, Bottom = 54;

    /// <summary>The chart as an <c>&lt;svg&gt;</c> element.</summary>
    public static string Render(string cssClass, string title, string yTitle, int layers, IReadOnlyList<ChartSeries> series,
        IReadOnlyList<ChartMark> thresholds, IReadOnlyList<ChartMark> layerMarks)
    {
        var axis = new LogAxis(series.SelectMany(s => s.Values).Where(v => v.HasValue).Select(v => v!.Value)
            .Concat(thresholds.Select(t => t.Value)));
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double X(double layer) => Left + (layer + 0.5) / Math.Max(layers, 1) * plotW;
        double Y(double value) => Top + plotH * (1 - axis.Fraction(value));

        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart {cssClass}\" viewBox=\"0 0 {Width} {Height}\" ")
           .Append($"role=\"img\" aria-label=\"{Html.Escape(title)}\">");
        svg.Append($"<rect x=\"{Left}\" y=\"{Top}\" width=\"{Html.Coord(plotW)}\" height=\"{Html.Coord(plotH)}\" fill=\"#fff\" stroke=\"{SvgPalette.Axis}\"/>");

        foreach (double minor in axis.MinorValues())
            svg.Append(HLine(Left, Left + plotW, Y(minor), SvgPalette.GridMinor, null));
        foreach (int decade in axis.LabelledDecades())
        {
            double y = Y(Math.Pow(10, decade));
            svg.Append(HLine(Left, Left + plotW, y, SvgPalette.Grid, null));
            svg.Append(Text(Left - 8, y + 4, LogAxis.Label(decade), "end", "tick"));
        }

        int step = Math.Max(1, (int)Math.Ceiling(layers / 24.0));
        for (int layer = 0; layer < layers; layer++)
        {
            double x = X(layer);
            svg.Append($"<line x1=\"{Html.Coord(x)}\" y1=\"{Html.Coord(Top + plotH)}\" x2=\"{Html.Coord(x)}\" y2=\"{Html.Coord(Top + plotH + 5)}\" stroke=\"{SvgPalette.Axis}\"/>");
            if (layer % step == 0 || (layer == layers - 1 && layer % step >= (step + 1) / 2))
                svg.Append(Text(x, Top + plotH + 19, layer.ToString(System.Globalization.CultureInfo.InvariantCulture), "middle", "tick"));
        }
        svg.Append(Text(Left + plotW / 2, Height - 8, "layer", "middle", "axis-title"));
        svg.Append($"<text class=\"axis-title\" transform=\"translate(16 {Html.Coord(Top + plotH / 2)}) rotate(-90)\" text-anchor=\"middle\">{Html.Escape(yTitle)}</text>");

        foreach (ChartMark mark in layerMarks)
        {
            double x = X(mark.Value);
            svg.Append($"<line class=\"layer-mark\" x1=\"{Html.Coord(x)}\" y1=\"{Top}\" x2=\"{Html.Coord(x)}\" y2=\"{Html.Coord(Top + plotH)}\" stroke=\"{SvgPalette.Y6}\" stroke-width=\"1\" stroke-dasharray=\"2 3\"/>");
            svg.Append(Text(x + 4, Top + 14, mark.Label, "start", "mark-label"));
        }
        foreach (ChartMark threshold in thresholds)
        {
            double y = Y(threshold.Value);
            svg.Append(HLine(Left, Left + plotW, y, SvgPalette.Threshold, "6 4", "threshold"));
            svg.Append(Text(Left + plotW - 6, y - 6, threshold.Label, "end", "mark-label"));
        }

        foreach (ChartSeries s in series) AppendSeries(svg, s, X, Y);
        AppendLegend(svg, series, thresholds.Count > 0);
        svg.Append("</svg>");
        return svg.ToString();
    }

    private static void AppendSeries(StringBuilder svg, ChartSeries s, Func<double, double> x, Func<double, double> y)
    {
        string dash = s.Dashed ? " stroke-dasharray=\"7 4\"" : "";
        svg.Append($"<g class=\"series\" data-series=\"{Html.Escape(s.Id)}\">");
        var run = new List<string>();
        void Flush()
        {
            if (run.Count > 1)
                svg.Append($"<polyline fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2.2\"{dash} points=\"{string.Join(' ', run)}\"/>");
            run.Clear();
        }
        for (int layer = 0; layer < s.Values.Count; layer++)
        {
            if (s.Values[layer] is not double v) { Flush(); continue; }
            run.Add($"{Html.Coord(x(layer + s.Offset))},{Html.Coord(y(v))}");
        }
        Flush();
        for (int layer = 0; layer < s.Values.Count; layer++)
        {
            if (s.Values[layer] is not double v) continue;
            svg.Append($"<circle cx=\"{Html.Coord(x(layer + s.Offset))}\" cy=\"{Html.Coord(y(v))}\" r=\"3.2\" fill=\"{s.Color}\">")
               .Append($"<title>layer {layer} · {Html.Escape(s.Label)}: {Html.Number(v)}</title></circle>");
        }
        svg.Append("</g>");
    }

    private static void AppendLegend(StringBuilder svg, IReadOnlyList<ChartSeries> series, bool threshold)
    {
        double x = Left;
        const double y = 22;
        svg.Append("<g class=\"legend\">");
        foreach (ChartSeries s in series)
        {
            string dash = s.Dashed ? " stroke-dasharray=\"7 4\"" : "";
            svg.Append($"<line x1=\"{Html.Coord(x)}\" y1=\"{y}\" x2=\"{Html.Coord(x + 26)}\" y2=\"{y}\" stroke=\"{s.Color}\" stroke-width=\"3\"{dash}/>");
            svg.Append(Text(x + 32, y + 4, s.Label, "start", "legend-label"));
            x += 44 + s.Label.Length * 7.2;
        }
        if (threshold)
        {
            svg.Append($"<line x1=\"{Html.Coord(x)}\" y1=\"{y}\" x2=\"{Html.Coord(x + 26)}\" y2=\"{y}\" stroke=\"{SvgPalette.Threshold}\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>");
            svg.Append(Text(x + 32, y + 4, "threshold", "start", "legend-label"));
        }
        svg.Append("</g>");
    }

    private static string HLine(double x1, double x2, double y, string color, string? dash, string? cssClass = null) =>
        $"<line{(cssClass is null ? "" : $" class=\"{cssClass}\"")} x1=\"{Html.Coord(x1)}\" y1=\"{Html.Coord(y)}\" x2=\"{Html.Coord(x2)}\" y2=\"{Html.Coord(y)}\" stroke=\"{color}\""
        + (dash is null ? "" : $" stroke-width=\"1.5\" stroke-dasharray=\"{dash}\"") + "/>";

    internal static string Text(double x, double y, string text, string anchor, string cssClass) =>
        $"<text class=\"{cssClass}\" x=\"{Html.Coord(x)}\" y=\"{Html.Coord(y)}\" text-anchor=\"{anchor}\">{Html.Escape(text)}</text>";
}
