using System.Globalization;
using System.Text;

namespace Optimizer.Tool.Report;

/// <summary>
/// Escaping and formatting for the report. Everything the page shows from the manifest passes through
/// <see cref="Escape"/>, which also replaces characters that are not allowed in XML, so that the page is well-formed
/// XHTML as well as HTML.
/// </summary>
public static class Html
{
    /// <summary><paramref name="text"/> safe for element content and quoted attribute values.</summary>
    public static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length + 16);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                    {
                        sb.Append(c).Append(text[++i]);
                    }
                    else if (char.IsSurrogate(c) || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == '\uFFFE' || c == '\uFFFF')
                    {
                        sb.Append('\uFFFD');
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// A token's text as the reader should see it: quoted, with whitespace and control characters spelled out
    /// (<c>\n</c>, <c>\t</c>, <c>\u0007</c>), then escaped for HTML.
    /// </summary>
    public static string Token(string text)
    {
        var sb = new StringBuilder(text.Length + 2);
        sb.Append('“');
        foreach (char c in text)
        {
            sb.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\\' => "\\\\",
                _ when char.IsControl(c) => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            });
        }
        sb.Append('”');
        return Escape(sb.ToString());
    }

    /// <summary>A statistic with 4 significant digits (invariant culture).</summary>
    public static string Number(double value)
    {
        if (value == 0 || !double.IsFinite(value)) return value == 0 ? "0" : value.ToString(CultureInfo.InvariantCulture);
        double rounded = double.Parse(value.ToString("G4", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        double magnitude = Math.Abs(rounded);
        return magnitude is >= 1e-4 and < 1e9
            ? rounded.ToString("0.##########", CultureInfo.InvariantCulture)
            : rounded.ToString("0.###e+0", CultureInfo.InvariantCulture);
    }

    /// <summary>A ratio to a median; null (the median was 0, the ratio unbounded) is shown as ∞.</summary>
    public static string Ratio(double? value) => value is double v ? Number(v) : "∞";

    /// <summary>An integer with thousands separators.</summary>
    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A share in [0, 1] as a percentage with up to one decimal.</summary>
    public static string Percent(double share) => (share * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";

    /// <summary>A coordinate for SVG: at most two decimals, invariant culture.</summary>
    public static string Coord(double value) => Math.Round(value, 2).ToString("0.##", CultureInfo.InvariantCulture);
}
