using System.Reflection;

namespace Optimizer.Tool.Cli;

/// <summary>The tool's name and version, as shown by <c>--version</c> and in help texts.</summary>
public static class ToolInfo
{
    /// <summary>How people invoke the tool.</summary>
    public const string DisplayName = "dotnet outlier-opt";

    /// <summary>The assembly (and .NET tool command) name.</summary>
    public const string AssemblyName = "dotnet-outlier-opt";

    /// <summary>The informational version, e.g. <c>0.1.0</c> or <c>0.1.0+1a2b3c4</c>.</summary>
    public static string Version { get; } = ReadVersion();

    private static string ReadVersion()
    {
        var assembly = typeof(ToolInfo).Assembly;
        string? informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (!string.IsNullOrWhiteSpace(informational)) return informational;
        return assembly.GetName().Version?.ToString(3) ?? "0.0.0";
    }
}
