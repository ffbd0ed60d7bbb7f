using System.Reflection;

namespace ConsumerApp;

/// <summary>One file of an optimized model.</summary>
public sealed record ModelFile(string Name, long Bytes);

/// <summary>
/// An optimized model the build added to this app: copied to <c>models/&lt;name&gt;/</c> next to the app, or embedded
/// as resources named <c>models/&lt;name&gt;/&lt;file&gt;</c>.
/// </summary>
public sealed class OptimizedModelEntry
{
    private readonly Func<Stream?> _openManifest;

    public OptimizedModelEntry(string name, string origin, IReadOnlyList<ModelFile> files, string? weightsPath, Func<Stream?> openManifest)
    {
        Name = name;
        Origin = origin;
        Files = files;
        WeightsPath = weightsPath;
        _openManifest = openManifest;
    }

    public string Name { get; }

    /// <summary>"copied to models/name/" or "embedded resources".</summary>
    public string Origin { get; }

    public IReadOnlyList<ModelFile> Files { get; }

    /// <summary>The GGUF file on disk (copied models only).</summary>
    public string? WeightsPath { get; }

    /// <summary>The outlier manifest, or null when the model has none.</summary>
    public Stream? OpenManifest() => _openManifest();
}

/// <summary>Finds the optimized models of this app: copied folders first, then embedded resources.</summary>
public sealed class ModelCatalog
{
    private ModelCatalog(IReadOnlyList<OptimizedModelEntry> models) => Models = models;

    public IReadOnlyList<OptimizedModelEntry> Models { get; }

    public static ModelCatalog Load(string appFolder, Assembly assembly)
    {
        var models = new List<OptimizedModelEntry>();
        string root = Path.Combine(appFolder, "models");
        if (Directory.Exists(root))
        {
            foreach (string folder in Directory.GetDirectories(root).OrderBy(f => f, StringComparer.Ordinal))
            {
                var files = Directory.GetFiles(folder, "*", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal).ToArray();
                string? manifest = files.FirstOrDefault(f => f.EndsWith(".manifest.json", StringComparison.Ordinal));
                models.Add(new OptimizedModelEntry(Path.GetFileName(folder), $"copied to models/{Path.GetFileName(folder)}/",
                    files.Select(f => new ModelFile(Path.GetRelativePath(folder, f), new FileInfo(f).Length)).ToArray(),
                    files.FirstOrDefault(f => f.EndsWith(".gguf", StringComparison.Ordinal)),
                    () => manifest is null ? null : File.OpenRead(manifest)));
            }
        }
        var resources = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("models/", StringComparison.Ordinal) && n.Count(c => c == '/') >= 2)
            .OrderBy(n => n, StringComparer.Ordinal);
        foreach (var group in resources.GroupBy(n => n.Split('/')[1]))
        {
            var names = group.ToArray();
            string? manifest = names.FirstOrDefault(n => n.EndsWith(".manifest.json", StringComparison.Ordinal));
            models.Add(new OptimizedModelEntry(group.Key, "embedded resources",
                names.Select(n => new ModelFile(n, ResourceLength(assembly, n))).ToArray(), null,
                () => manifest is null ? null : assembly.GetManifestResourceStream(manifest)));
        }
        return new ModelCatalog(models);
    }

    private static long ResourceLength(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name);
        return stream?.Length ?? 0;
    }
}
