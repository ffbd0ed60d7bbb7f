using System.Globalization;
using System.Text;
using Optimizer.Engine.Manifest;

namespace Optimizer.Tool.Report;

/// <summary>
/// One small multiple of the channel profiles: for one norm of one layer, three aligned strips over the hidden
/// channels: pre-γ abs-max, γ, post-γ abs-max. Outlier channels are drawn in the highlight color in every strip and
/// named below. More channels than pixels are max-pooled into columns, so no outlier disappears.
/// </summary>
public static class ChannelProfilePanel
{
    private const double Width = 560, Left = 52, Right = 8, StripHeight = 56, Gap = 18, Top = 16;
    private const int MaxColumns = 248;

    /// <summary>The panel as an <c>&lt;svg&gt;</c> element; <paramref name="outliers"/> are the channels to highlight.</summary>
    public static string Render(NormProfile profile, IReadOnlySet<int> outliers)
    {
        int channels = profile.Gamma.Count;
        double plotW = Width - Left - Right;
        int columns = Math.Max(1, Math.Min(channels, MaxColumns));
        double height = Top + 3 * StripHeight + 2 * Gap + 30;
        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart profile\" viewBox=\"0 0 {Width} {Html.Coord(height)}\" role=\"img\" ")
           .Append($"aria-label=\"layer {profile.Layer} {Html.Escape(profile.Norm)} norm channel profile\">");
        var strips = new (string Label, IReadOnlyList<double> Values, string Color)[]
        {
            ("pre-γ", profile.PreGammaAbsMax, SvgPalette.PreGamma),
            ("γ", profile.Gamma, SvgPalette.Gamma),
            ("post-γ", profile.PostGammaAbsMax, SvgPalette.PostGamma),
        };
        for (int s = 0; s < strips.Length; s++)
        {
            double top = Top + s * (StripHeight + Gap);
            AppendStrip(svg, strips[s].Label, strips[s].Values, strips[s].Color, outliers, top, plotW, columns);
        }
        double axisY = Top + 3 * StripHeight + 2 * Gap;
        foreach (int tick in ChannelTicks(channels))
        {
            double x = Left + (tick + 0.5) / Math.Max(channels, 1) * plotW;
            svg.Append($"<line x1=\"{Html.Coord(x)}\" y1=\"{Html.Coord(axisY)}\" x2=\"{Html.Coord(x)}\" y2=\"{Html.Coord(axisY + 4)}\" stroke=\"{SvgPalette.Axis}\"/>");
            svg.Append(LogLineChart.Text(x, axisY + 16, tick.ToString(CultureInfo.InvariantCulture), "middle", "tick"));
        }
        svg.Append(LogLineChart.Text(Left - 6, axisY + 16, "ch", "end", "tick"));
        svg.Append("</svg>");
        return svg.ToString();
    }

    private static void AppendStrip(StringBuilder svg, string label, IReadOnlyList<double> values, string color,
        IReadOnlySet<int> outliers, double top, double plotW, int columns)
    {
        int channels = values.Count;
        double max = 0, min = 0;
        foreach (double v in values)
        {
            max = Math.Max(max, v);
            min = Math.Min(min, v);
        }
        double shownMin = min, shownMax = max;
        if (max == min) max = min + 1;
        // Signed values (γ may be negative) get a zero line inside the strip; magnitudes start at the bottom.
        double Y(double v) => top + StripHeight * (max - v) / (max - min);
        double zero = Y(0);
        svg.Append($"<rect x=\"{Left}\" y=\"{Html.Coord(top)}\" width=\"{Html.Coord(plotW)}\" height=\"{StripHeight}\" fill=\"#fbfcfd\" stroke=\"{SvgPalette.Grid}\"/>");
        svg.Append(LogLineChart.Text(Left - 6, top + StripHeight / 2 + 4, label, "end", "strip-label"));
        string range = shownMin < 0 ? $"{Html.Number(shownMin)} … {Html.Number(shownMax)}" : $"max {Html.Number(shownMax)}";
        svg.Append(LogLineChart.Text(Left + plotW, top - 4, range, "end", "tick"));

        var normal = new StringBuilder();
        var highlighted = new StringBuilder();
        double columnW = plotW / columns;
        for (int c = 0; c < columns; c++)
        {
            int from = (int)((long)c * channels / columns), to = (int)((long)(c + 1) * channels / columns);
            double value = 0;
            bool outlier = false;
            for (int j = from; j < to; j++)
            {
                if (Math.Abs(values[j]) > Math.Abs(value)) value = values[j];
                outlier |= outliers.Contains(j);
            }
            double x = Left + (c + 0.5) * columnW;
            (outlier ? highlighted : normal).Append($"M{Html.Coord(x)} {Html.Coord(zero)}V{Html.Coord(Y(value))}");
        }
        string width = Html.Coord(Math.Max(columnW * 0.78, 0.8));
        if (normal.Length > 0)
            svg.Append($"<path class=\"bars\" d=\"{normal}\" stroke=\"{color}\" stroke-width=\"{width}\"/>");
        if (highlighted.Length > 0)
            svg.Append($"<path class=\"bars outlier\" d=\"{highlighted}\" stroke=\"{SvgPalette.Outlier}\" stroke-width=\"{Html.Coord(Math.Max(columnW * 0.78, 2.2))}\"/>");
        if (min < 0)
            svg.Append($"<line x1=\"{Left}\" y1=\"{Html.Coord(zero)}\" x2=\"{Html.Coord(Left + plotW)}\" y2=\"{Html.Coord(zero)}\" stroke=\"{SvgPalette.Axis}\" stroke-width=\"0.6\"/>");
    }

    private static IEnumerable<int> ChannelTicks(int channels)
    {
        if (channels <= 0) yield break;
        int step = channels <= 16 ? Math.Max(1, channels / 8) : NiceStep(channels / 8.0);
        for (int t = 0; t < channels; t += step) yield return t;
    }

    private static int NiceStep(double raw)
    {
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        foreach (double m in new[] { 1.0, 2.0, 5.0, 10.0 })
        {
            if (m * magnitude >= raw) return (int)(m * magnitude);
        }
        return (int)(10 * magnitude);
    }
}
