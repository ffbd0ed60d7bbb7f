using McMaster.Extensions.CommandLineUtils;

namespace Optimizer.Tool.Cli;

/// <summary>
/// One subcommand of the tool. <see cref="Configure"/> declares its arguments, options and help text;
/// <see cref="ExecuteAsync"/> runs it after the command line was parsed. Adding a command means adding one class
/// and one line to <see cref="ToolApplication.Commands"/>.
/// </summary>
public interface IToolCommand
{
    /// <summary>The name typed on the command line, e.g. <c>inspect</c>.</summary>
    string Name { get; }

    /// <summary>One line for the command list in the root help.</summary>
    string Description { get; }

    /// <summary>Declares arguments and options on <paramref name="command"/> (help and examples included).</summary>
    void Configure(CommandLineApplication command);

    /// <summary>Runs the command; returns the exit code. Failures are thrown, not printed.</summary>
    Task<int> ExecuteAsync(ToolContext context);
}
