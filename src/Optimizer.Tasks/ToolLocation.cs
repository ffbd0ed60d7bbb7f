namespace Optimizer.Tasks;

/// <summary>Where dotnet-outlier-opt was found and how to start it.</summary>
public sealed class ToolLocation
{
    /// <summary>Creates a location.</summary>
    public ToolLocation(ToolLaunchKind kind, string path, string stampFile, string description)
    {
        Kind = kind;
        Path = path;
        StampFile = stampFile;
        Description = description;
    }

    /// <summary>How to start the tool.</summary>
    public ToolLaunchKind Kind { get; }

    /// <summary>The dll or executable; for a local tool, the manifest (dotnet-tools.json).</summary>
    public string Path { get; }

    /// <summary>
    /// The file whose timestamp changes when the tool changes (the dll, the apphost or the local tool manifest); the
    /// targets list it among the inputs of every model, so a new tool version re-optimizes.
    /// </summary>
    public string StampFile { get; }

    /// <summary>A human-readable account of where the tool came from, for the build log.</summary>
    public string Description { get; }

    /// <summary>The launch kind for a path given explicitly: <c>.dll</c> runs through dotnet, anything else directly.</summary>
    public static ToolLaunchKind KindOfPath(string path) =>
        path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? ToolLaunchKind.DotnetDll : ToolLaunchKind.Executable;
}
