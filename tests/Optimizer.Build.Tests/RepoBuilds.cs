using System.Reflection;

namespace Optimizer.Build.Tests;

/// <summary>The task dll, tool and repository this test build was made from (recorded as assembly metadata at build time).</summary>
public static class RepoBuilds
{
    public static string ToolPath { get; } = Metadata("OutlierOptToolPath");

    public static string TasksAssembly { get; } = Metadata("OutlierOptTasksAssembly");

    public static string RepoRoot { get; } = Metadata("RepoRoot");

    /// <summary>The configuration the repository's projects were built in (for <c>dotnet pack --no-build</c>).</summary>
    public static string Configuration { get; } = Metadata("Configuration");

    /// <summary>The <c>--artifacts-path</c> of this build, or null for the default bin/obj layout.</summary>
    public static string? ArtifactsPath { get; } = OptionalMetadata("ArtifactsPath");

    public static string ToolProject => Path.Combine(RepoRoot, "src", "Optimizer.Tool", "Optimizer.Tool.csproj");

    public static string TasksProject => Path.Combine(RepoRoot, "src", "Optimizer.Tasks", "Optimizer.Tasks.csproj");

    public static string PropsFile => Path.Combine(RepoRoot, "build", "Optimizer.Build.props");

    public static string TargetsFile => Path.Combine(RepoRoot, "build", "Optimizer.Build.targets");

    private static string Metadata(string key) =>
        OptionalMetadata(key) ?? throw new InvalidOperationException($"The test assembly has no '{key}' metadata.");

    private static string? OptionalMetadata(string key) =>
        typeof(RepoBuilds).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value is { Length: > 0 } value
            ? value
            : null;
}
