using Optimizer.Engine.Formats;
using Optimizer.Engine.Tests.Fixtures;
using Optimizer.Engine.Tests.Manifest;

namespace Optimizer.Engine.Tests.Transforms;

/// <summary>
/// Synthetic preset folders and the trained fixture, each opened and analysed at most once per test run (analysis is
/// the slow part), shared by the transform tests.
/// </summary>
public sealed class TransformFixtures : IDisposable
{
    private readonly SyntheticPresetFolders _presets = new();
    private readonly Dictionary<string, (ModelFolder Model, TransformInput Input)> _analysed = new();
    private readonly object _gate = new();
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "oopt-transforms-" + Guid.NewGuid().ToString("N"));

    public TransformFixtures() => Directory.CreateDirectory(_scratch);

    /// <summary>The folder and ground truth of a synthetic preset.</summary>
    public (string Folder, Optimizer.Fixtures.SyntheticGroundTruth Truth) PresetFolder(string name) => _presets.Get(name);

    /// <summary>A synthetic preset, opened and analysed (absolute MA thresholds, 4 × 48 tokens of prose).</summary>
    internal (ModelFolder Model, TransformInput Input) Preset(string name) => Get(name, () =>
    {
        var model = ModelFolder.Open(_presets.Get(name).Folder);
        return (model, TransformHarness.Analyze(model, TransformHarness.Calibration(_scratch)));
    });

    /// <summary>The trained austen-byte-llama fixture, analysed with scale-free MA thresholds (4 × 128 tokens of prose).</summary>
    internal (ModelFolder Model, TransformInput Input) Austen() => Get("austen", () =>
    {
        var model = ModelFolder.Open(RepositoryPaths.AustenFixture);
        return (model, TransformHarness.Analyze(model, TransformHarness.Calibration(_scratch, 4, 128), TransformHarness.ScaleFree));
    });

    /// <summary>A scratch folder deleted at the end of the run.</summary>
    public string Scratch => _scratch;

    private (ModelFolder, TransformInput) Get(string key, Func<(ModelFolder, TransformInput)> create)
    {
        lock (_gate)
        {
            if (!_analysed.TryGetValue(key, out var entry))
            {
                entry = create();
                _analysed.Add(key, entry);
            }
            return entry;
        }
    }

    public void Dispose()
    {
        foreach (var (model, _) in _analysed.Values) model.Dispose();
        _presets.Dispose();
        try { Directory.Delete(_scratch, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Tests that share <see cref="TransformFixtures"/>.</summary>
[CollectionDefinition(Name)]
public sealed class TransformCollection : ICollectionFixture<TransformFixtures>
{
    public const string Name = "Transforms";
}
