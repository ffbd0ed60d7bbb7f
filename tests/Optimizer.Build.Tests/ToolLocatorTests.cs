using Optimizer.Tasks;

namespace Optimizer.Build.Tests;

/// <summary>Finding an installed tool: local manifest (searched upwards, isRoot stops), global tools folder, PATH.</summary>
public sealed class ToolLocatorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("oopt-locate-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Folder(params string[] parts)
    {
        string path = Path.Combine(new[] { _root }.Concat(parts).ToArray());
        Directory.CreateDirectory(path);
        return path;
    }

    private static void WriteManifest(string path, string command, bool isRoot = false) => File.WriteAllText(path, $$"""
        { "version": 1, "isRoot": {{(isRoot ? "true" : "false")}},
          "tools": { "optimizer.tool": { "version": "0.1.0", "commands": [ "{{command}}" ], "rollForward": false } } }
        """);

    [Fact]
    public void LocalToolInAParentConfigFolderIsFound()
    {
        string manifest = Path.Combine(Folder("repo", ".config"), "dotnet-tools.json");
        WriteManifest(manifest, "dotnet-outlier-opt");
        string project = Folder("repo", "src", "app");

        var location = ToolLocator.Locate(project, homeDirectory: null, pathVariable: null);

        Assert.Equal((ToolLaunchKind.LocalTool, manifest, manifest), (location!.Kind, location.Path, location.StampFile));
        Assert.Contains("0.1.0", location.Description);
    }

    [Fact]
    public void ARootManifestWithoutTheToolStopsTheSearch()
    {
        WriteManifest(Path.Combine(Folder("repo", ".config"), "dotnet-tools.json"), "dotnet-outlier-opt");
        WriteManifest(Path.Combine(Folder("repo", "app"), "dotnet-tools.json"), "dotnet-other", isRoot: true);

        Assert.Null(ToolLocator.Locate(Folder("repo", "app"), homeDirectory: null, pathVariable: null));
    }

    [Fact]
    public void GlobalToolThenPathAreSearchedWhenThereIsNoLocalTool()
    {
        string home = Folder("home");
        string onPath = Path.Combine(Folder("bin"), "dotnet-outlier-opt");
        File.WriteAllText(onPath, "");
        Assert.Equal((ToolLaunchKind.Executable, onPath), Where(ToolLocator.Locate(Folder("p"), home, Folder("empty") + Path.PathSeparator + Folder("bin"))));

        string global = Path.Combine(Folder("home", ".dotnet", "tools"), "dotnet-outlier-opt");
        File.WriteAllText(global, "");
        Assert.Equal((ToolLaunchKind.Executable, global), Where(ToolLocator.Locate(Folder("p"), home, Folder("bin"))));
    }

    [Fact]
    public void NothingInstalledGivesNull() => Assert.Null(ToolLocator.Locate(Folder("p"), Folder("home"), Folder("bin")));

    [Fact]
    public void AManifestThatIsNotJsonIsReported()
    {
        File.WriteAllText(Path.Combine(Folder("bad"), "dotnet-tools.json"), "{ tools: ");
        Assert.Throws<InvalidDataException>(() => ToolLocator.Locate(Folder("bad"), null, null));
    }

    [Theory]
    [InlineData("/x/dotnet-outlier-opt.dll", ToolLaunchKind.DotnetDll)]
    [InlineData("/x/DOTNET-OUTLIER-OPT.DLL", ToolLaunchKind.DotnetDll)]
    [InlineData("/x/dotnet-outlier-opt", ToolLaunchKind.Executable)]
    public void ExplicitPathsRunByExtension(string path, ToolLaunchKind kind) => Assert.Equal(kind, ToolLocation.KindOfPath(path));

    private static (ToolLaunchKind, string) Where(ToolLocation? location) => (location!.Kind, location.Path);
}
