using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace Optimizer.Build.Tests;

/// <summary>
/// `dotnet pack` makes the tool package (installable with `dotnet tool install --tool-path`, then runnable) and the build
/// package (build/ props and targets, the task under tasks/, a development dependency without dependencies), which a
/// project consumes with a PackageReference from a local folder feed and which then optimizes with the installed tool.
/// Everything (feed, NuGet cache, tool path, project) lives in one temp folder.
/// </summary>
public sealed class PackagingTests
{
    [Fact]
    public void ToolPackageInstallsAndRunsAndBuildPackageFromALocalFeedOptimizesWithTheInstalledTool()
    {
        using var work = TempProject.Create("pack");
        string feed = Path.Combine(work.Folder, "feed");
        var nuget = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(work.Folder, "nuget-packages") };
        Pack(RepoBuilds.ToolProject, feed, nuget);
        Pack(RepoBuilds.TasksProject, feed, nuget);

        using (var build = ZipFile.OpenRead(Path.Combine(feed, "Optimizer.Build.0.1.0.nupkg")))
        {
            Assert.Equal(new[] { "build/Optimizer.Build.props", "build/Optimizer.Build.targets", "tasks/netstandard2.0/Optimizer.Tasks.dll" },
                build.Entries.Select(e => e.FullName).Where(n => n.StartsWith("build/") || n.StartsWith("tasks/") || n.StartsWith("lib/")).Order(StringComparer.Ordinal));
            var nuspec = XDocument.Load(build.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            var metadata = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            Assert.Equal("true", metadata.Elements().Single(e => e.Name.LocalName == "developmentDependency").Value);
            Assert.DoesNotContain(metadata.Elements(), e => e.Name.LocalName == "dependencies" && e.Descendants().Any(d => d.Name.LocalName == "dependency"));
        }

        string tools = Path.Combine(work.Folder, "tools");
        var install = DotnetCommand.Run(work.Folder, new[] { "tool", "install", "Optimizer.Tool", "--tool-path", tools, "--add-source", feed, "--version", "0.1.0" }, nuget);
        Assert.True(install.Succeeded, install.ToString());
        string tool = Path.Combine(tools, "dotnet-outlier-opt");
        string expectedVersion = FileVersionInfo.GetVersionInfo(RepoBuilds.ToolPath).ProductVersion!;
        Assert.Equal(expectedVersion, RunInstalledTool(tool, "--version").Trim());

        string model = work.WriteModel("m", seed: 5);
        work.WriteText("eval.txt");
        File.WriteAllText(Path.Combine(work.Folder, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(work.ProjectFile, $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <ImportDirectoryBuildProps>false</ImportDirectoryBuildProps>
                <ImportDirectoryBuildTargets>false</ImportDirectoryBuildTargets>
                <ImportDirectoryPackagesProps>false</ImportDirectoryPackagesProps>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Optimizer.Build" Version="0.1.0" />
                <OptimizedModel Include="{model}" Quantization="Q8_0" CalibrationTokens="128" SequenceLength="64" EvalTokens="128" EvalText="eval.txt" />
              </ItemGroup>
            </Project>
            """);
        var env = new Dictionary<string, string>(nuget) { ["OUTLIER_OPT_TOOL"] = tool };
        var built = DotnetCommand.Run(work.Folder, new[] { "build", work.ProjectFile, "-v:n", "-nodeReuse:false" }, env);

        Assert.True(built.Succeeded, built.ToString());
        Assert.Equal(new[] { "m/" }, BuildLog.Optimized(built));
        Assert.Equal(new[] { "m/m.gguf", "m/m.manifest.json" }, TempProject.FilesUnder(Path.Combine(work.OutputFolder, "models")));
    }

    private static void Pack(string project, string feed, IDictionary<string, string> environment)
    {
        var args = new List<string> { "pack", project, "--no-build", "-c", RepoBuilds.Configuration, "-o", feed, "-nodeReuse:false" };
        if (RepoBuilds.ArtifactsPath is { } artifacts) args.AddRange(new[] { "--artifacts-path", artifacts });
        var result = DotnetCommand.Run(Path.GetDirectoryName(project)!, args, environment, TimeSpan.FromMinutes(8));
        Assert.True(result.Succeeded, result.ToString());
    }

    private static string RunInstalledTool(string tool, string argument)
    {
        var info = new ProcessStartInfo(tool, argument) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.Environment["DOTNET_ROOT"] = Path.GetDirectoryName(DotnetCommand.DotnetHost())!;
        using var process = Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)), "the installed tool did not exit");
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {output}{error}");
        return output;
    }
}
