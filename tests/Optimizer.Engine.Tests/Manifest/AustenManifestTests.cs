using System.Text;
using Optimizer.Engine.Calibration;
using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Manifest;

namespace Optimizer.Engine.Tests.Manifest;

/// <summary>
/// The manifest of the trained byte-level fixture (tests/fixtures/austen-byte-llama) in scale-free mode, where its
/// BOS residual channels (60–90, far below the absolute 100) show up: schema-valid and snapshot-guarded.
/// </summary>
public sealed class AustenManifestTests : IDisposable
{
    /// <summary>Prose written for this test (not from the training corpus), 4 sequences of 128 byte tokens.</summary>
    private const string Prose =
        "The rain had kept the whole family indoors since breakfast, and by noon even the most patient of them had " +
        "begun to look at the windows as if the weather were a visitor who had stayed too long. Mrs. Hartley sat " +
        "with her letters; her eldest daughter read aloud from a novel that nobody else attended to, and the two " +
        "younger girls disputed, with great seriousness, whether a ribbon could be called blue when it was so very " +
        "nearly green. Their brother, lately returned from town, declared that he had never known a house so quiet " +
        "and so noisy at once, which pleased no one and was repeated at dinner.";

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "outlier-opt-austen-" + Guid.NewGuid().ToString("N"));

    public AustenManifestTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Scale_free_manifest_of_the_trained_fixture_is_valid_and_matches_its_snapshot()
    {
        string text = Path.Combine(_folder, "prose.txt");
        File.WriteAllText(text, Prose, new UTF8Encoding(false));
        var calibration = new CalibrationOptions { Paths = new[] { text }, SequenceLength = 128, Tokens = 4 * 128 };
        var options = new AnalysisOptions { MassiveActivations = new MassiveActivationOptions { Mode = MassiveActivationMode.ScaleFree } };

        var (manifest, json) = PresetManifests.Analyze(RepositoryPaths.AustenFixture, calibration, options);

        var errors = ManifestSchemaValidator.Errors(json);
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(10)));
        Assert.Equal("austen-byte-llama", manifest.Model.Name);
        Assert.Equal(MaOptions.ScaleFree, manifest.Options.Ma.Mode);
        Assert.Equal(4 * 128, manifest.Calibration.Tokens);
        ManifestSnapshot.Match(json);
    }
}
