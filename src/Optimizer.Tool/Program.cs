using Optimizer.Tool.Cli;

namespace Optimizer.Tool;

/// <summary>Entry point of <c>dotnet outlier-opt</c>.</summary>
public static class Program
{
    public static int Main(string[] args) => ToolApplication.Run(args);
}
