using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Fixtures;

/// <summary>
/// Builds each synthetic preset at most once per test run, into a temporary folder that is deleted at the end, so the
/// reference and engine tests share the written models.
/// </summary>
public sealed class SyntheticPresetFolders : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "oopt-synthetic-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<string, (string Folder, SyntheticGroundTruth Truth)> _built = new();
    private readonly object _gate = new();

    /// <summary>The folder and ground truth of preset <paramref name="name"/>, building it on first use.</summary>
    public (string Folder, SyntheticGroundTruth Truth) Get(string name)
    {
        lock (_gate)
        {
            if (!_built.TryGetValue(name, out var entry))
            {
                string folder = Path.Combine(_root, name);
                var truth = new SyntheticModelBuilder(SyntheticModelBuilder.Presets.Named(name)).Build(folder);
                entry = (folder, truth);
                _built.Add(name, entry);
            }
            return entry;
        }
    }

    public void Dispose()
    {
        try { if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Tests that share <see cref="SyntheticPresetFolders"/>.</summary>
[CollectionDefinition(Name)]
public sealed class SyntheticPresetCollection : ICollectionFixture<SyntheticPresetFolders>
{
    public const string Name = "Synthetic presets";
}
