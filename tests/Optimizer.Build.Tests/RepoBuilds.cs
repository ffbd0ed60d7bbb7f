using System.Reflection;

namespace Optimizer.Build.Tests;

/// <summary>The task dll, tool and repository this test build was made from (recorded as assembly metadata at build time).</summary>
public static class RepoBuilds
{
    public static string ToolPath { get; } = Metadata("OutlierOptToolPath");

    public static string TasksAssembly { get; } = Metadata("OutlierOptTasksAssembly");

    public static string RepoRoot { get; } = Metadata("RepoRoot");

    public static string PropsFile => Path.Combine(RepoRoot, "build", "Optimizer.Build.props");

    public static string TargetsFile => Path.Combine(RepoRoot, "build", "Optimizer.Build.targets");

    private static string Metadata(string key) =>
        typeof(RepoBuilds).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"The test assembly has no '{key}' metadata.");
}
