using McMaster.Extensions.CommandLineUtils;
using Optimizer.Engine;

namespace Optimizer.Tool.Cli;

/// <summary>
/// The options every command accepts (<c>--verbose</c>, <c>--quiet</c>, <c>--diagnostics human|msbuild</c>), declared
/// once on the root command and inherited by the subcommands, so they may appear before or after the command name.
/// </summary>
public sealed class GlobalOptions
{
    private readonly CommandOption _verbose;
    private readonly CommandOption _quiet;
    private readonly CommandOption _diagnostics;

    private GlobalOptions(CommandOption verbose, CommandOption quiet, CommandOption diagnostics)
    {
        _verbose = verbose;
        _quiet = quiet;
        _diagnostics = diagnostics;
    }

    /// <summary>Declares the global options on <paramref name="root"/>.</summary>
    public static GlobalOptions Register(CommandLineApplication root)
    {
        var verbose = root.Option("--verbose", "Show details of errors, including stack traces of internal errors.",
            CommandOptionType.NoValue, inherited: true);
        var quiet = root.Option("-q|--quiet", "Print no progress on stderr (results and errors are still printed).",
            CommandOptionType.NoValue, inherited: true);
        var diagnostics = root.Option("--diagnostics <MODE>",
            "human (default): colors, progress bar, hints. msbuild: canonical error lines only, for the build integration.",
            CommandOptionType.SingleValue, inherited: true);
        return new GlobalOptions(verbose, quiet, diagnostics);
    }

    /// <summary>Whether <c>--verbose</c> was given.</summary>
    public bool Verbose => _verbose.HasValue();

    /// <summary>Whether <c>--quiet</c> was given.</summary>
    public bool Quiet => _quiet.HasValue();

    /// <summary>The diagnostics mode; throws <see cref="UsageException"/> for a value other than human or msbuild.</summary>
    public DiagnosticsMode Diagnostics
    {
        get
        {
            if (TryParseDiagnostics(out var mode)) return mode;
            throw new UsageException(ErrorCodes.CliInvalidValue,
                $"--diagnostics must be 'human' or 'msbuild', not '{_diagnostics.Value()}'.");
        }
    }

    /// <summary>The diagnostics mode for reporting an error: never throws, falls back to human for a bad value.</summary>
    public DiagnosticsMode DiagnosticsForReporting => TryParseDiagnostics(out var mode) ? mode : DiagnosticsMode.Human;

    private bool TryParseDiagnostics(out DiagnosticsMode mode)
    {
        mode = DiagnosticsMode.Human;
        string? value = _diagnostics.HasValue() ? _diagnostics.Value() : null;
        switch (value?.Trim().ToLowerInvariant())
        {
            case null or "human":
                return true;
            case "msbuild":
                mode = DiagnosticsMode.Msbuild;
                return true;
            default:
                return false;
        }
    }
}
