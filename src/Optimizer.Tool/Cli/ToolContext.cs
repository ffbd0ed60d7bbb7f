namespace Optimizer.Tool.Cli;

/// <summary>
/// What a running command gets from the infrastructure: where results (stdout) and diagnostics (stderr) go, the global
/// options, the cancellation token (Ctrl+C, SIGTERM) and progress displays that follow the diagnostics mode.
/// </summary>
public sealed class ToolContext
{
    public ToolContext(TextWriter output, TextWriter error, GlobalOptions options, CancellationToken cancellation, bool errorIsTerminal)
    {
        Out = output;
        Error = error;
        Options = options;
        Cancellation = cancellation;
        Diagnostics = options.Diagnostics;
        ErrorIsTerminal = errorIsTerminal;
    }

    /// <summary>Results: tables, JSON, numbers.</summary>
    public TextWriter Out { get; }

    /// <summary>Errors and progress.</summary>
    public TextWriter Error { get; }

    /// <summary>The global options of this invocation.</summary>
    public GlobalOptions Options { get; }

    /// <summary>The diagnostics mode (validated).</summary>
    public DiagnosticsMode Diagnostics { get; }

    /// <summary>Cancelled on Ctrl+C or SIGTERM.</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>Whether stderr is an interactive terminal.</summary>
    public bool ErrorIsTerminal { get; }

    /// <summary>The progress style this invocation allows.</summary>
    public ProgressStyle ProgressStyle =>
        Options.Quiet || Diagnostics == DiagnosticsMode.Msbuild ? ProgressStyle.None
        : ErrorIsTerminal ? ProgressStyle.Interactive
        : ProgressStyle.Plain;

    /// <summary>Starts a progress display for a step of <paramref name="total"/> <paramref name="unit"/>.</summary>
    public ProgressDisplay StartProgress(string label, string unit, long total) =>
        new(Error, ProgressStyle, label, unit, total);

    /// <summary>Writes a status line on stderr (human mode only, not with --quiet).</summary>
    public void Info(string line)
    {
        if (Options.Quiet || Diagnostics == DiagnosticsMode.Msbuild) return;
        Error.WriteLine(line);
        Error.Flush();
    }

    /// <summary>Throws <see cref="OperationCanceledException"/> when cancellation was requested.</summary>
    public void ThrowIfCancelled() => Cancellation.ThrowIfCancellationRequested();
}
