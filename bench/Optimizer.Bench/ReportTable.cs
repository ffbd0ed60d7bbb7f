using System.Text;

namespace Optimizer.Bench;

/// <summary>The markdown report: sections of tables plus notes, printed and saved together.</summary>
public sealed class ReportTable
{
    private readonly StringBuilder _text = new();

    /// <summary>Adds a heading line.</summary>
    public void Heading(string text) => _text.Append("\n### ").Append(text).Append("\n\n");

    /// <summary>Adds a paragraph.</summary>
    public void Note(string text) => _text.Append(text).Append("\n\n");

    /// <summary>Adds a table with <paramref name="header"/> and <paramref name="rows"/> (cells are escaped for '|').</summary>
    public void Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        Row(header);
        _text.Append('|').Append(string.Concat(header.Select(_ => "---|"))).Append('\n');
        foreach (var row in rows) Row(row);
        _text.Append('\n');
    }

    /// <summary>The markdown so far.</summary>
    public override string ToString() => _text.ToString();

    private void Row(IReadOnlyList<string> cells)
        => _text.Append("| ").Append(string.Join(" | ", cells.Select(c => c.Replace("|", "\\|")))).Append(" |\n");
}
