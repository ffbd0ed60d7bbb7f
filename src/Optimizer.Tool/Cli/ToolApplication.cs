using McMaster.Extensions.CommandLineUtils;
using Optimizer.Engine;
using Optimizer.Tool.Commands;

namespace Optimizer.Tool.Cli;

/// <summary>
/// The root command: global options, <c>--help</c>, <c>--version</c>, the subcommands, and the one place where every
/// failure is turned into a report and an exit code (see <see cref="ErrorReporter"/>).
/// </summary>
public static class ToolApplication
{
    /// <summary>How long a cancelled command may take to stop before the tool reports "cancelled" regardless.</summary>
    public static readonly TimeSpan CancellationGracePeriod = TimeSpan.FromSeconds(10);

    /// <summary>The subcommands, in the order the help lists them.</summary>
    public static IReadOnlyList<Func<IToolCommand>> Commands { get; } = new Func<IToolCommand>[]
    {
        () => new InspectCommand(),
        () => new EvalCommand(),
        () => new AnalyzeCommand(),
        () => new OptimizeCommand(),
        () => new ReportCommand(),
    };

    /// <summary>Parses <paramref name="args"/>, runs the command and returns the process exit code.</summary>
    public static int Run(string[] args)
    {
        using var cancellation = new ConsoleCancellation();
        using var root = new CommandLineApplication(throwOnUnexpectedArg: true)
        {
            Name = ToolInfo.DisplayName,
            FullName = ToolInfo.AssemblyName,
            Description = "Finds activation outliers in transformer language models (Llama family), mitigates them, quantizes, "
                + "and evaluates the result.",
            ExtendedHelpText = RootHelpText,
            MakeSuggestionsInErrorMessage = false,
            ResponseFileHandling = ResponseFileHandling.Disabled,
        };
        // Help and version are plain options handled here rather than McMaster's HelpOption/VersionOption: those print
        // a hint on stdout after every parse error and a two-line version, which the canonical error output must not have.
        var help = root.Option("-?|-h|--help", "Show help for the tool or the command.", CommandOptionType.NoValue, inherited: true);
        var version = root.Option("--version", "Show the tool version.", CommandOptionType.NoValue);
        var options = GlobalOptions.Register(root);

        foreach (var factory in Commands)
        {
            IToolCommand command = factory();
            root.Command(command.Name, sub =>
            {
                sub.Description = command.Description;
                sub.MakeSuggestionsInErrorMessage = false;
                sub.ResponseFileHandling = ResponseFileHandling.Disabled;
                command.Configure(sub);
                sub.OnExecute(int () => help.HasValue() ? ShowHelp(sub) : Execute(command, options, cancellation));
            }, throwOnUnexpectedArg: true);
        }

        root.OnExecute(int () =>
        {
            if (help.HasValue()) return ShowHelp(root);
            if (version.HasValue())
            {
                Console.Out.WriteLine(ToolInfo.Version);
                return ExitCodes.Success;
            }
            _ = options.Diagnostics;
            throw new UsageException(ErrorCodes.CliMissingArgument,
                $"No command given; the commands are: {string.Join(", ", root.Commands.Select(c => c.Name))}.");
        });

        try
        {
            return root.Execute(args);
        }
        catch (Exception ex)
        {
            bool color = !Console.IsErrorRedirected
                && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"))
                && Environment.GetEnvironmentVariable("TERM") != "dumb";
            var reporter = new ErrorReporter(Console.Error, options.DiagnosticsForReporting, options.Verbose, color);
            return reporter.Report(ex);
        }
    }

    private static int ShowHelp(CommandLineApplication command)
    {
        command.ShowHelp();
        return ExitCodes.Success;
    }

    private static int Execute(IToolCommand command, GlobalOptions options, ConsoleCancellation cancellation)
    {
        var context = new ToolContext(Console.Out, Console.Error, options, cancellation.Token, !Console.IsErrorRedirected);
        context.ThrowIfCancelled();
        // The command runs on a worker thread so that a cancellation request is honoured even while the command is
        // inside a long native call: after the grace period the tool reports "cancelled" and exits without waiting.
        Task<int> work = Task.Run(() => command.ExecuteAsync(context));
        try
        {
            work.Wait(cancellation.Token);
        }
        catch (AggregateException)
        {
            // Rethrown below with its original type.
        }
        catch (OperationCanceledException)
        {
            if (!((IAsyncResult)work).AsyncWaitHandle.WaitOne(CancellationGracePeriod))
                throw new OptimizerException(ErrorCodes.Cancelled, "cancelled");
        }
        return work.GetAwaiter().GetResult();
    }

    private const string RootHelpText = @"
The global options (--verbose, --quiet, --diagnostics, --help) may also be given after the command name.

Exit codes:
  0  success
  1  failed: bad model or input file, runtime error, or cancelled (Ctrl+C, SIGTERM)
  2  command-line usage error: unknown command or option, missing argument, bad value

Errors are printed on stderr as 'path(line,col): error OOPTnnnn: message'.

Examples:
  dotnet outlier-opt inspect models/tiny-llama
  dotnet outlier-opt inspect models/tiny-llama --json > tiny-llama.json
  dotnet outlier-opt eval models/tiny-llama --text data/eval.txt --context 256
  dotnet outlier-opt --diagnostics msbuild eval models/tiny-llama --text data/eval.txt

Run 'dotnet outlier-opt <command> --help' for the options of a command.";
}
