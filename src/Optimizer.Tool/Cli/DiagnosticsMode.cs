namespace Optimizer.Tool.Cli;

/// <summary>How errors and progress are written to stderr.</summary>
public enum DiagnosticsMode
{
    /// <summary>For people: colors and a progress bar when stderr is a terminal, hints after usage errors.</summary>
    Human,

    /// <summary>For the build integration: canonical <c>path(line,col): error OOPTnnnn: message</c> lines only.</summary>
    Msbuild,
}
