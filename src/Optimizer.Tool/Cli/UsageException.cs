namespace Optimizer.Tool.Cli;

/// <summary>
/// A command-line usage error (unknown option, missing argument, bad value): reported as
/// <c>error OOPT3nnn: message</c> with a hint to use <c>--help</c>, exit code <see cref="ExitCodes.Usage"/>.
/// </summary>
public sealed class UsageException : Exception
{
    public UsageException(string code, string message, string? commandPath = null)
        : base(message)
    {
        Code = code;
        CommandPath = commandPath;
    }

    /// <summary>The OOPT3xxx code.</summary>
    public string Code { get; }

    /// <summary>The command whose help the hint points to, e.g. <c>dotnet outlier-opt eval</c>; null for the root.</summary>
    public string? CommandPath { get; }
}
