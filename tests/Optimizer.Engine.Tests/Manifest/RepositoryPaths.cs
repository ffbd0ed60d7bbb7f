using System.Runtime.CompilerServices;

namespace Optimizer.Engine.Tests.Manifest;

/// <summary>Paths inside the repository, found from this source file's location (the tests build into any artifacts folder).</summary>
internal static class RepositoryPaths
{
    /// <summary>The repository root (the folder holding Optimizer.sln).</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>docs/outlier-manifest-1.schema.json.</summary>
    public static string ManifestSchema => Path.Combine(Root, "docs", "outlier-manifest-1.schema.json");

    /// <summary>The trained byte-level fixture model.</summary>
    public static string AustenFixture => Path.Combine(Root, "tests", "fixtures", "austen-byte-llama");

    private static string FindRoot([CallerFilePath] string source = "")
    {
        string? folder = Path.GetDirectoryName(source);
        while (folder is not null && !File.Exists(Path.Combine(folder, "Optimizer.sln"))) folder = Path.GetDirectoryName(folder);
        return folder ?? throw new InvalidOperationException($"No Optimizer.sln above {source}.");
    }
}
