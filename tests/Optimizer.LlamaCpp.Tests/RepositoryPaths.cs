using System.Runtime.CompilerServices;

namespace Optimizer.LlamaCpp.Tests;

/// <summary>Paths inside the repository (found from the test assembly's folder upwards).</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    public static string AustenFixture => Path.Combine(Root, "tests", "fixtures", "austen-byte-llama");

    /// <summary>The Austen training text (scripts/fetch-corpus.sh writes it).</summary>
    public static string AustenTrain => Corpus("austen-train.txt");

    /// <summary>The held-out Austen text the fixture never saw in training.</summary>
    public static string AustenHeldOut => Corpus("austen-heldout.txt");

    private static string Corpus(string name)
    {
        string path = Path.Combine(Root, ".corpus", name);
        if (!File.Exists(path)) Assert.Fail($"{path} is missing: run scripts/fetch-corpus.sh once.");
        return path;
    }

    private static string FindRoot([CallerFilePath] string source = "")
    {
        for (var dir = new DirectoryInfo(Path.GetDirectoryName(source)!); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Optimizer.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Optimizer.sln not found above " + source);
    }
}
