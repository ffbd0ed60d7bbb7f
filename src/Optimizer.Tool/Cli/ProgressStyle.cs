namespace Optimizer.Tool.Cli;

/// <summary>How a <see cref="ProgressDisplay"/> draws.</summary>
public enum ProgressStyle
{
    /// <summary>Nothing (<c>--quiet</c> or <c>--diagnostics msbuild</c>).</summary>
    None,

    /// <summary>A bar redrawn in place on one line (stderr is a terminal).</summary>
    Interactive,

    /// <summary>An occasional plain line (stderr is redirected to a file or pipe).</summary>
    Plain,
}
