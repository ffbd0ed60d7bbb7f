using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Optimizer.Tasks;

/// <summary>
/// Finds an installed dotnet-outlier-opt (local tool, global tool, PATH) for builds that set neither the
/// <c>OutlierOptToolPath</c> property nor the <c>OUTLIER_OPT_TOOL</c> environment variable; logs OOPT2001 with install
/// instructions when there is none.
/// </summary>
public sealed class ResolveOutlierOptTool : Microsoft.Build.Utilities.Task
{
    /// <summary>The folder where the search for a local tool manifest starts (the project's folder).</summary>
    [Required]
    public string ProjectDirectory { get; set; } = "";

    /// <summary>The file errors are reported against (the project file).</summary>
    public string? ProjectFile { get; set; }

    /// <summary>The dll, executable or (for a local tool) manifest that was found.</summary>
    [Output]
    public string ToolPath { get; private set; } = "";

    /// <summary>How to start it: <c>DotnetDll</c>, <c>Executable</c> or <c>LocalTool</c>.</summary>
    [Output]
    public string ToolKind { get; private set; } = "";

    /// <summary>The file whose timestamp identifies the installed tool version.</summary>
    [Output]
    public string ToolStampFile { get; private set; } = "";

    /// <inheritdoc />
    public override bool Execute()
    {
        ToolLocation? location;
        try
        {
            location = ToolLocator.Locate(ProjectDirectory, ToolLocator.CliHomeDirectory(), Environment.GetEnvironmentVariable("PATH"));
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            Log.LogError(null, BuildErrorCodes.ToolManifestInvalid, null, ProjectFile, 0, 0, 0, 0,
                "The dotnet tool manifest could not be read: {0}", ex.Message);
            return false;
        }
        if (location is null)
        {
            Log.LogError(null, BuildErrorCodes.ToolNotFound, null, ProjectFile, 0, 0, 0, 0,
                "{0} was not found, and OptimizedModel items need it: {1}.", ToolLocator.CommandName, ToolLocator.InstallHint);
            return false;
        }
        ToolPath = location.Path;
        ToolKind = location.Kind.ToString();
        ToolStampFile = location.StampFile;
        Log.LogMessage(MessageImportance.Low, "Using {0}.", location.Description);
        return true;
    }
}
