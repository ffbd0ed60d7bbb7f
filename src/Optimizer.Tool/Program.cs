using McMaster.Extensions.CommandLineUtils;

namespace Optimizer.Tool;

/// <summary>Entry point of <c>dotnet outlier-opt</c>.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        using var app = new CommandLineApplication
        {
            Name = "dotnet outlier-opt",
            Description = "Finds and removes activation outliers in transformer language models, then quantizes them.",
        };
        app.HelpOption(inherited: true);
        app.VersionOptionFromAssemblyAttributes(typeof(Program).Assembly);
        app.OnExecute(() =>
        {
            app.ShowHelp();
            return 0;
        });
        return app.Execute(args);
    }
}
