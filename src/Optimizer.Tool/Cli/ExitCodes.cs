namespace Optimizer.Tool.Cli;

/// <summary>The process exit codes of <c>dotnet outlier-opt</c>; documented in <c>--help</c> and docs/cli.md.</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>The command failed: bad model or input file, runtime error, or cancellation.</summary>
    public const int Failed = 1;

    /// <summary>The command line itself is wrong: unknown option or command, missing argument, bad value.</summary>
    public const int Usage = 2;
}
