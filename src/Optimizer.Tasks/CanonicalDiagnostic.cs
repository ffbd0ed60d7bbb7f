using System.Globalization;
using System.Text.RegularExpressions;

namespace Optimizer.Tasks;

/// <summary>
/// One line of the tool's msbuild-mode diagnostics, in the canonical form <c>origin(line,col): error CODE: message</c>,
/// where the origin is a file path, a tool name (<c>outlier-opt</c>) or absent, and <c>(line,col)</c> is optional.
/// </summary>
public sealed class CanonicalDiagnostic
{
    private static readonly Regex Pattern = new(
        @"^(?:(?<origin>.*?)(?:\((?<line>\d+)(?:,(?<column>\d+))?\))?\s*:\s+)?(?<category>error|warning)\s+(?<code>[A-Za-z]+\d+)\s*:\s*(?<message>.*)$",
        RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    private CanonicalDiagnostic(string origin, int line, int column, bool isError, string code, string message)
    {
        Origin = origin;
        Line = line;
        Column = column;
        IsError = isError;
        Code = code;
        Message = message;
    }

    /// <summary>The file or tool name before the location; empty when the line starts with the category.</summary>
    public string Origin { get; }

    /// <summary>1-based line, 0 when absent.</summary>
    public int Line { get; }

    /// <summary>1-based column, 0 when absent.</summary>
    public int Column { get; }

    /// <summary>Error (true) or warning (false).</summary>
    public bool IsError { get; }

    /// <summary>The code, e.g. <c>OOPT1011</c>.</summary>
    public string Code { get; }

    /// <summary>The message text.</summary>
    public string Message { get; }

    /// <summary>Parses a line; null when it is not a canonical diagnostic.</summary>
    public static CanonicalDiagnostic? TryParse(string line)
    {
        Match match;
        try
        {
            match = Pattern.Match(line.Trim());
        }
        catch (RegexMatchTimeoutException)
        {
            return null;
        }
        if (!match.Success) return null;
        return new CanonicalDiagnostic(
            match.Groups["origin"].Value.Trim(),
            ParseNumber(match.Groups["line"].Value),
            ParseNumber(match.Groups["column"].Value),
            match.Groups["category"].Value == "error",
            match.Groups["code"].Value,
            match.Groups["message"].Value.Trim());
    }

    private static int ParseNumber(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) ? value : 0;
}
