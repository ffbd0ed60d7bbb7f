using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Optimizer.Fixtures;

namespace Optimizer.Build.Tests;

/// <summary>
/// A throw-away app project in its own temp folder that imports the repository's build/Optimizer.Build.props|targets
/// (exactly as the package's build/ folder is imported) and points them at the task and tool this test build made.
/// Directory.Build.* files of the folders above are not imported, so nothing outside the folder changes the build.
/// </summary>
public sealed class TempProject : IDisposable
{
    private TempProject(string folder) => Folder = folder;

    public string Folder { get; }

    public string ProjectFile => Path.Combine(Folder, "App.csproj");

    public string OutputFolder => Path.Combine(Folder, "bin", "Debug", "net10.0");

    public string IntermediateFolder => Path.Combine(Folder, "obj", "Debug", "net10.0", "outlier-opt");

    public static TempProject Create(string name)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"oopt-build-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "Library.cs"), "namespace App;\n\npublic static class Library { }\n");
        return new TempProject(folder);
    }

    /// <summary>Writes App.csproj with the given items (and optional properties) between the imports.</summary>
    public void WriteProject(string items, string properties = "")
    {
        File.WriteAllText(ProjectFile, $"""
            <Project>
              <PropertyGroup>
                <ImportDirectoryBuildProps>false</ImportDirectoryBuildProps>
                <ImportDirectoryBuildTargets>false</ImportDirectoryBuildTargets>
                <ImportDirectoryPackagesProps>false</ImportDirectoryPackagesProps>
              </PropertyGroup>
              <Import Project="Sdk.props" Sdk="Microsoft.NET.Sdk" />
              <Import Project="{RepoBuilds.PropsFile}" />
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <OutputType>Library</OutputType>
                {properties}
              </PropertyGroup>
              <ItemGroup>
                {items}
              </ItemGroup>
              <Import Project="Sdk.targets" Sdk="Microsoft.NET.Sdk" />
              <Import Project="{RepoBuilds.TargetsFile}" />
            </Project>
            """);
    }

    /// <summary>Writes a small synthetic Llama (hidden 64, byte-level tokenizer) to a subfolder; returns its relative path.</summary>
    public string WriteModel(string name, ulong seed = 1)
    {
        new SyntheticModelBuilder(SyntheticModelBuilder.Presets.Clean(seed)).Build(Path.Combine(Folder, name));
        return name + "/";
    }

    /// <summary>Writes an English text file (a few kilobytes) for calibration or evaluation; returns its relative path.</summary>
    public string WriteText(string name, int variant = 0)
    {
        string[] sentences =
        {
            "It is a truth universally acknowledged that a single man in possession of a good fortune must be in want of a wife.",
            "However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is fixed.",
            "My dear Mr. Bennet, said his lady to him one day, have you heard that Netherfield Park is let at last?",
            "Mr. Bennet replied that he had not, but she told him that it was, for Mrs. Long had just been there.",
        };
        var text = string.Join(" ", Enumerable.Range(0, 24).Select(i => sentences[(i + variant) % sentences.Length]));
        File.WriteAllText(Path.Combine(Folder, name), text + "\n");
        return name;
    }

    /// <summary><c>dotnet build</c> with normal verbosity, pointed at this build's task and tool.</summary>
    public CommandResult Build(params string[] extra) => Dotnet("build", extra);

    /// <summary><c>dotnet publish</c> with normal verbosity, pointed at this build's task and tool.</summary>
    public CommandResult Publish(params string[] extra) => Dotnet("publish", extra);

    /// <summary><c>dotnet clean</c>.</summary>
    public CommandResult Clean() => Dotnet("clean", Array.Empty<string>());

    private CommandResult Dotnet(string verb, string[] extra, IDictionary<string, string>? environment = null)
    {
        var args = new List<string>
        {
            verb, ProjectFile, "-v:n", "-nodeReuse:false", "-clp:NoSummary",
            $"-p:OutlierOptTasksAssembly={RepoBuilds.TasksAssembly}",
            $"-p:OutlierOptToolPath={RepoBuilds.ToolPath}",
        };
        args.AddRange(extra);
        return DotnetCommand.Run(Folder, args, environment);
    }

    /// <summary>Like <see cref="Build"/> but without a tool path, in an environment where no tool is installed.</summary>
    public CommandResult BuildWithoutTool()
    {
        string home = Path.Combine(Folder, "home");
        Directory.CreateDirectory(home);
        var args = new List<string>
        {
            "build", ProjectFile, "-v:n", "-nodeReuse:false", "-clp:NoSummary",
            $"-p:OutlierOptTasksAssembly={RepoBuilds.TasksAssembly}",
        };
        return DotnetCommand.Run(Folder, args, new Dictionary<string, string> { ["HOME"] = home, ["DOTNET_CLI_HOME"] = home });
    }

    /// <summary>The manifest resource names of the built assembly.</summary>
    public IReadOnlyList<string> ResourceNames()
    {
        using var stream = File.OpenRead(Path.Combine(OutputFolder, "App.dll"));
        using var pe = new PEReader(stream);
        var reader = pe.GetMetadataReader();
        return reader.ManifestResources.Select(h => reader.GetString(reader.GetManifestResource(h).Name)).OrderBy(n => n, StringComparer.Ordinal).ToArray();
    }

    /// <summary>Files under a folder, relative and with '/' separators, sorted; empty when the folder does not exist.</summary>
    public static IReadOnlyList<string> FilesUnder(string folder) => Directory.Exists(folder)
        ? Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/')).OrderBy(f => f, StringComparer.Ordinal).ToArray()
        : Array.Empty<string>();

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still hold a file for a moment; the temp folder is cleaned by the system later.
        }
    }
}
