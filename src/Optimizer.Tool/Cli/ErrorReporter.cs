using McMaster.Extensions.CommandLineUtils;
using Optimizer.Engine;

namespace Optimizer.Tool.Cli;

/// <summary>
/// Turns every failure into one canonical line on stderr and an exit code, never a raw stack trace:
/// <see cref="OptimizerException"/> → <c>path(line,col): error OOPTnnnn: message</c>, exit 1; usage errors →
/// <c>error OOPT3nnn: message</c> plus a hint to use --help, exit 2; cancellation → "cancelled", exit 1; anything
/// else → <c>error OOPT1999: internal error: message</c>, exit 1 (the stack trace only with --verbose).
/// </summary>
public sealed class ErrorReporter
{
    private readonly TextWriter _error;
    private readonly DiagnosticsMode _mode;
    private readonly bool _verbose;
    private readonly bool _color;

    public ErrorReporter(TextWriter error, DiagnosticsMode mode, bool verbose, bool color)
    {
        _error = error;
        _mode = mode;
        _verbose = verbose;
        _color = color && mode == DiagnosticsMode.Human;
    }

    /// <summary>Writes the report for <paramref name="exception"/> and returns the exit code.</summary>
    public int Report(Exception exception)
    {
        exception = Unwrap(exception);
        switch (exception)
        {
            case UsageException usage:
                return ReportUsage(usage.Code, usage.Message, usage.CommandPath);
            case UnrecognizedCommandParsingException unrecognized:
                string text = Suggest(unrecognized) is { } match
                    ? $"{unrecognized.Message.TrimEnd('.')}; did you mean '{match}'?"
                    : EnsurePeriod(unrecognized.Message);
                return ReportUsage(ErrorCodes.CliUnrecognized, text, CommandPath(unrecognized.Command));
            case CommandParsingException parsing:
                return ReportUsage(ErrorCodes.CliUsage, EnsurePeriod(parsing.Message), CommandPath(parsing.Command));
            case OptimizerException { Code: ErrorCodes.Cancelled } cancelledError:
                return ReportCancelled(cancelledError);
            case OperationCanceledException cancelled:
                return ReportCancelled(cancelled);
            case OptimizerException optimizer:
                WriteErrorLine(Sanitize(optimizer.ToCanonicalString()));
                if (_verbose && optimizer.InnerException is { } inner) WriteDetail(inner.ToString());
                return ExitCodes.Failed;
            case DllNotFoundException or BadImageFormatException:
                WriteErrorLine($"outlier-opt: error {ErrorCodes.TorchUnavailable}: the native tensor library could not be loaded: {Sanitize(exception.Message)}");
                if (_verbose) WriteDetail(exception.ToString());
                return ExitCodes.Failed;
            default:
                WriteErrorLine($"error {ErrorCodes.InternalError}: internal error: {Sanitize(exception.Message)}");
                if (_verbose) WriteDetail(exception.ToString());
                else if (_mode == DiagnosticsMode.Human) WriteDetail("Run again with --verbose for details.");
                return ExitCodes.Failed;
        }
    }

    /// <summary>The command path used in help hints, e.g. <c>dotnet outlier-opt eval</c>.</summary>
    public static string CommandPath(CommandLineApplication? command)
    {
        var names = new List<string>();
        for (var c = command; c is not null; c = c.Parent)
        {
            if (!string.IsNullOrEmpty(c.Name)) names.Add(c.Name);
        }
        names.Reverse();
        return names.Count == 0 ? ToolInfo.DisplayName : string.Join(' ', names);
    }

    /// <summary>The nearest option (for '--x') or command name to the unrecognized word quoted in the message.</summary>
    private static string? Suggest(UnrecognizedCommandParsingException exception)
    {
        if (exception.NearestMatches.FirstOrDefault() is { } nearest) return nearest;
        int open = exception.Message.IndexOf('\'');
        int close = exception.Message.LastIndexOf('\'');
        if (open < 0 || close <= open + 1) return null;
        string typed = exception.Message[(open + 1)..close];
        var command = exception.Command;
        IEnumerable<string> candidates = typed.StartsWith("--", StringComparison.Ordinal)
            ? command.GetOptions().Where(o => o.LongName is not null).Select(o => "--" + o.LongName)
            : command.Commands.Select(c => c.Name ?? "").Where(n => n.Length > 0);
        return Suggestions.Closest(typed, candidates);
    }

    private int ReportUsage(string code, string message, string? commandPath)
    {
        WriteErrorLine($"error {code}: {Sanitize(message)}");
        if (_mode == DiagnosticsMode.Human)
            WriteDetail($"Run '{commandPath ?? ToolInfo.DisplayName} --help' for usage.");
        return ExitCodes.Usage;
    }

    private int ReportCancelled(Exception exception)
    {
        WriteErrorLine($"outlier-opt: error {ErrorCodes.Cancelled}: cancelled");
        if (_verbose) WriteDetail(exception.ToString());
        return ExitCodes.Failed;
    }

    private void WriteErrorLine(string line)
    {
        if (_color)
        {
            int at = line.IndexOf(": error ", StringComparison.Ordinal);
            line = at >= 0
                ? line[..(at + 2)] + "\u001b[31merror\u001b[0m" + line[(at + 7)..]
                : line.StartsWith("error ", StringComparison.Ordinal) ? "\u001b[31merror\u001b[0m" + line[5..] : line;
        }
        _error.WriteLine(line);
        _error.Flush();
    }

    private void WriteDetail(string text)
    {
        if (_mode == DiagnosticsMode.Msbuild && !_verbose) return;
        _error.WriteLine(text);
        _error.Flush();
    }

    private static Exception Unwrap(Exception exception)
    {
        while (true)
        {
            switch (exception)
            {
                case AggregateException { InnerExceptions.Count: 1 } aggregate:
                    exception = aggregate.InnerExceptions[0];
                    continue;
                case TypeInitializationException { InnerException: { } inner }:
                    exception = inner;
                    continue;
                case System.Reflection.TargetInvocationException { InnerException: { } inner }:
                    exception = inner;
                    continue;
                default:
                    return exception;
            }
        }
    }

    private static string EnsurePeriod(string message) =>
        message.EndsWith('.') ? message : message + ".";

    /// <summary>Keeps a message on one line.</summary>
    private static string Sanitize(string message) =>
        string.Join(' ', message.Split(new[] { '\r', '\n' }, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
