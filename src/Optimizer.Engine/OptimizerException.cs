namespace Optimizer.Engine;

/// <summary>
/// An error the user can act on: a stable code (<see cref="ErrorCodes"/>), a one-line message, and where it applies
/// (file, optionally line and column). Front doors print it as <c>path(line,col): error OOPTnnnn: message</c>.
/// </summary>
public sealed class OptimizerException : Exception
{
    public OptimizerException(string code, string message, string? file = null, int line = 0, int column = 0, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
        File = file;
        Line = line;
        Column = column;
    }

    /// <summary>The stable error code, e.g. <c>OOPT1001</c>.</summary>
    public string Code { get; }

    /// <summary>The file the error applies to, if any.</summary>
    public string? File { get; }

    /// <summary>1-based line in <see cref="File"/>, or 0 when not known.</summary>
    public int Line { get; }

    /// <summary>1-based column in <see cref="File"/>, or 0 when not known.</summary>
    public int Column { get; }

    /// <summary>The canonical one-line form used by compilers and MSBuild.</summary>
    public string ToCanonicalString()
    {
        string location = File is null ? "outlier-opt" : Line > 0 ? $"{File}({Line},{Math.Max(Column, 1)})" : File;
        return $"{location}: error {Code}: {Message}";
    }
}
