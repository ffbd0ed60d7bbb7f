namespace Optimizer.Tasks;

/// <summary>How the task starts dotnet-outlier-opt.</summary>
public enum ToolLaunchKind
{
    /// <summary><c>dotnet &lt;path&gt;/dotnet-outlier-opt.dll …</c> with the muxer that runs the build.</summary>
    DotnetDll,

    /// <summary>An executable (the apphost of a global or <c>--tool-path</c> install): <c>&lt;path&gt; …</c>.</summary>
    Executable,

    /// <summary>A local tool: <c>dotnet tool run dotnet-outlier-opt …</c> in the folder of its manifest.</summary>
    LocalTool,
}
