using System.Globalization;
using System.Text;

namespace Optimizer.Tool.Report;

/// <summary>Small HTML fragments shared by the findings tables: tokens, badges, layer-range bars.</summary>
internal static class ReportCells
{
    public static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A token: its text (quoted, control characters spelled out), id and position.</summary>
    public static string Token(string? text, int id, int position) =>
        (text is null ? "" : $"<code class=\"tok\">{Html.Token(text)}</code> ")
        + $"<span class=\"sub\">id {Int(id)} · pos {Int(position)}</span>";

    /// <summary>A colored label; the class is derived from a fixed vocabulary so that no manifest text reaches it.</summary>
    public static string Badge(string text)
    {
        string css = text switch
        {
            "birth" or "tma" or "propagated" or "gamma" or "otc" or "residual" or "unknown" or "absolute" or "relative" or "both" => text,
            _ => "other",
        };
        return $"<span class=\"badge b-{css}\">{Html.Escape(text)}</span>";
    }

    /// <summary>A bar over the layers [0, <paramref name="layers"/>) with the range first..last filled.</summary>
    public static string LayerRange(int first, int last, int layers)
    {
        const double W = 150, H = 12;
        int n = Math.Max(layers, last + 1);
        double x0 = W * first / n, x1 = W * (last + 1) / n;
        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"range\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\">")
          .Append($"<rect x=\"0\" y=\"3\" width=\"{W}\" height=\"6\" rx=\"3\" fill=\"{SvgPalette.Grid}\"/>")
          .Append($"<rect x=\"{Html.Coord(x0)}\" y=\"1\" width=\"{Html.Coord(Math.Max(x1 - x0, 3))}\" height=\"10\" rx=\"3\" fill=\"{SvgPalette.Y6}\"/>")
          .Append("</svg>");
        return sb + $" <span class=\"sub\">{Int(first)}–{Int(last)}</span>";
    }

    /// <summary><paramref name="count"/> and the noun, with an "s" unless the count is 1: <c>1 family</c> needs the plural given.</summary>
    public static string Plural(long count, string singular, string? plural = null) =>
        $"{Html.Count(count)} {(count == 1 ? singular : plural ?? singular + "s")}";

    /// <summary>A paragraph saying that a finding list is empty.</summary>
    public static string None(string text) => $"<p class=\"none\">{Html.Escape(text)}</p>";
}
