namespace Optimizer.Tasks;

/// <summary>
/// Finds an installed dotnet-outlier-opt when no path was given explicitly (the targets handle the
/// <c>OutlierOptToolPath</c> property and the <c>OUTLIER_OPT_TOOL</c> environment variable themselves): first a local
/// tool declared in a <c>dotnet-tools.json</c> manifest in the project folder or above (as <c>dotnet tool run</c>
/// searches them), then a global tool in <c>~/.dotnet/tools</c>, then an executable on <c>PATH</c>.
/// </summary>
public static class ToolLocator
{
    /// <summary>The tool's command name.</summary>
    public const string CommandName = "dotnet-outlier-opt";

    /// <summary>The NuGet package that provides the tool.</summary>
    public const string PackageId = "Optimizer.Tool";

    /// <summary>What to tell people who have no tool installed.</summary>
    public static string InstallHint =>
        $"install it with 'dotnet tool install {PackageId} --add-source <folder with the package>' (local tool, after "
        + "'dotnet new tool-manifest') or 'dotnet tool install --global ...', or set the OutlierOptToolPath property or the "
        + $"OUTLIER_OPT_TOOL environment variable to its {CommandName}.dll or executable";

    /// <summary>
    /// Looks for the tool; null when none is installed. Throws <see cref="InvalidDataException"/> for a manifest that
    /// cannot be read.
    /// </summary>
    /// <param name="projectDirectory">Where the local tool manifest search starts.</param>
    /// <param name="homeDirectory">The user's home (<c>DOTNET_CLI_HOME</c> or <c>HOME</c>/<c>USERPROFILE</c>); null to skip global tools.</param>
    /// <param name="pathVariable">The <c>PATH</c> value; null to skip the search on PATH.</param>
    public static ToolLocation? Locate(string projectDirectory, string? homeDirectory, string? pathVariable)
    {
        return FindLocalTool(projectDirectory) ?? FindGlobalTool(homeDirectory) ?? FindOnPath(pathVariable);
    }

    /// <summary>The home folder the .NET CLI uses for global tools, from the process environment.</summary>
    public static string? CliHomeDirectory()
    {
        foreach (string name in new[] { "DOTNET_CLI_HOME", "HOME", "USERPROFILE" })
        {
            string? value = Environment.GetEnvironmentVariable(name);
            if (!string.IsNullOrEmpty(value)) return value;
        }
        return null;
    }

    private static ToolLocation? FindLocalTool(string projectDirectory)
    {
        for (var dir = new DirectoryInfo(projectDirectory); dir is not null; dir = dir.Parent)
        {
            bool stop = false;
            foreach (string candidate in new[] { Path.Combine(dir.FullName, ".config", "dotnet-tools.json"), Path.Combine(dir.FullName, "dotnet-tools.json") })
            {
                if (!File.Exists(candidate)) continue;
                var manifest = LocalToolManifest.Read(candidate);
                if (manifest.CommandVersions.TryGetValue(CommandName, out string? version))
                {
                    return new ToolLocation(ToolLaunchKind.LocalTool, candidate, candidate,
                        $"local tool {PackageId} {version} from {candidate}");
                }
                stop |= manifest.IsRoot;
            }
            if (stop) break;
        }
        return null;
    }

    private static ToolLocation? FindGlobalTool(string? homeDirectory)
    {
        if (string.IsNullOrEmpty(homeDirectory)) return null;
        string tools = Path.Combine(homeDirectory!, ".dotnet", "tools");
        string? executable = ExecutableIn(tools);
        return executable is null ? null : new ToolLocation(ToolLaunchKind.Executable, executable, executable, $"global tool {executable}");
    }

    private static ToolLocation? FindOnPath(string? pathVariable)
    {
        if (string.IsNullOrEmpty(pathVariable)) return null;
        foreach (string folder in pathVariable!.Split(Path.PathSeparator))
        {
            if (folder.Length == 0) continue;
            string? executable = ExecutableIn(folder);
            if (executable is not null) return new ToolLocation(ToolLaunchKind.Executable, executable, executable, $"{executable} (on PATH)");
        }
        return null;
    }

    private static string? ExecutableIn(string folder)
    {
        foreach (string name in new[] { CommandName, CommandName + ".exe" })
        {
            string candidate = Path.Combine(folder, name);
            if (File.Exists(candidate)) return Path.GetFullPath(candidate);
        }
        return null;
    }
}
