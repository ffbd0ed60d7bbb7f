using System.Text;

namespace Optimizer.Tool.Report;

/// <summary>
/// A findings table: header, at most a given number of rows, then one closing row "… and N more" naming what the
/// manifest holds beyond the limit. Cells are HTML fragments; callers escape text with <see cref="Html"/>.
/// </summary>
public sealed class HtmlTable
{
    private readonly string _cssClass;
    private readonly string[] _headers;
    private readonly bool[] _numeric;
    private readonly List<(string[] Cells, string? RowClass)> _rows = new();

    /// <param name="cssClass">Class of the table element (tests and styles find it by this).</param>
    /// <param name="headers">Column headers (plain text); a header starting with <c>#</c> marks a right-aligned numeric column.</param>
    public HtmlTable(string cssClass, params string[] headers)
    {
        _cssClass = cssClass;
        _numeric = headers.Select(h => h.StartsWith('#')).ToArray();
        _headers = headers.Select(h => h.TrimStart('#')).ToArray();
    }

    /// <summary>Rows added so far.</summary>
    public int Count => _rows.Count;

    /// <summary>Adds a row of HTML fragments (one per column).</summary>
    public void Add(params string[] cells) => AddWithClass(null, cells);

    /// <summary>Adds a row with a CSS class (e.g. to emphasise it).</summary>
    public void AddWithClass(string? rowClass, params string[] cells)
    {
        if (cells.Length != _headers.Length)
            throw new ArgumentException($"Expected {_headers.Length} cells, got {cells.Length}.", nameof(cells));
        _rows.Add((cells, rowClass));
    }

    /// <summary>The table with at most <paramref name="limit"/> rows; <paramref name="noun"/> names the rows (plural).</summary>
    public string Render(int limit, string noun)
    {
        var sb = new StringBuilder();
        sb.Append($"<table class=\"findings {_cssClass}\"><thead><tr>");
        for (int i = 0; i < _headers.Length; i++)
            sb.Append(_numeric[i] ? "<th class=\"num\">" : "<th>").Append(Html.Escape(_headers[i])).Append("</th>");
        sb.Append("</tr></thead><tbody>");
        foreach (var (cells, rowClass) in _rows.Take(limit))
        {
            sb.Append(rowClass is null ? "<tr>" : $"<tr class=\"{rowClass}\">");
            for (int i = 0; i < cells.Length; i++) sb.Append(_numeric[i] ? "<td class=\"num\">" : "<td>").Append(cells[i]).Append("</td>");
            sb.Append("</tr>");
        }
        if (_rows.Count > limit)
        {
            sb.Append($"<tr class=\"more\"><td colspan=\"{_headers.Length}\">… and {Html.Count(_rows.Count - limit)} more {Html.Escape(noun)} ")
              .Append("(all of them are in the manifest)</td></tr>");
        }
        sb.Append("</tbody></table>");
        return sb.ToString();
    }
}
