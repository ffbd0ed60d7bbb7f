using System.Text;
using Optimizer.Engine.Pipeline;
using Optimizer.Engine.Tests.Fixtures;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Pipeline;

/// <summary>
/// The synthetic model with every planted mechanism (<c>all-h64-s1</c>: a super weight birthing a massive activation,
/// γ outlier channels, OTC rows and columns of W_q) written once into a temporary folder, with a calibration text and a
/// different held-out text, and the pipeline's main run (GGUF Q8_0, all mitigations) computed once on first use.
/// </summary>
public sealed class OptimizeFixture : IDisposable
{
    public const string Preset = "all-h64-s1";
    public const string TestVersion = "0.0.0-test";

    private const string HeldOutText =
        "Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition, seemed to unite some " +
        "of the best blessings of existence; and had lived nearly twenty-one years in the world with very little to " +
        "distress or vex her.";

    private readonly Lazy<(OptimizeResult Result, string Output)> _main;

    public OptimizeFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "oopt-optimize-" + Guid.NewGuid().ToString("N"));
        Model = Path.Combine(Root, Preset);
        Truth = new SyntheticModelBuilder(SyntheticModelBuilder.Presets.Named(Preset)).Build(Model);
        Calibration = Path.Combine(Root, "calibration.txt");
        EvalText = Path.Combine(Root, "eval.txt");
        File.WriteAllText(Calibration, CalibrationTokens.Text, new UTF8Encoding(false));
        File.WriteAllText(EvalText, HeldOutText, new UTF8Encoding(false));
        _main = new Lazy<(OptimizeResult, string)>(() =>
        {
            string output = NewOutput("main");
            // An explicit list: the mitigated candidates must win, so the transforms are in the written file.
            return (OptimizePipeline.Run(Options(output)), output);
        });
    }

    public string Root { get; }

    public string Model { get; }

    public SyntheticGroundTruth Truth { get; }

    public string Calibration { get; }

    public string EvalText { get; }

    /// <summary>The main run: GGUF Q8_0, all mitigations named explicitly, no gate limits.</summary>
    public (OptimizeResult Result, string Output) Main => _main.Value;

    /// <summary>A fresh (not yet existing) output folder.</summary>
    public string NewOutput(string name) => Path.Combine(Root, "out-" + name + "-" + Guid.NewGuid().ToString("N")[..6]);

    /// <summary>Small, fast options: 2 calibration sequences of 48 tokens, 94 evaluation tokens, GGUF Q8_0.</summary>
    public OptimizeOptions Options(string output) => new()
    {
        Model = Model,
        Output = output,
        Quant = "Q8_0",
        Calibration = new[] { Calibration },
        EvalText = EvalText,
        CalibrationTokens = 96,
        SequenceLength = 48,
        EvalTokens = 94,
        BatchSize = 4,
        ToolVersion = TestVersion,
        // As if --mitigations were named: the mitigated candidates must win, so the transforms are in the written file.
        MitigationsExplicit = true,
    };

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>Tests that share <see cref="OptimizeFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class OptimizeCollection : ICollectionFixture<OptimizeFixture>
{
    public const string Name = "Optimize pipeline";
}
