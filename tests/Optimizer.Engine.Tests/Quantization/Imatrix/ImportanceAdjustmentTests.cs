using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Quantization.Imatrix;
using Optimizer.Engine.Tests.Fixtures;
using Optimizer.Engine.Tests.Transforms;
using Optimizer.Engine.Transforms;

namespace Optimizer.Engine.Tests.Quantization.Imatrix;

/// <summary>
/// After the exact diagonal transforms (γ flattening, SmoothQuant, OTC, TMA smoothing) the importance matrix collected
/// on the transformed model equals the original model's matrix carried over with Σx²/d², Σx/d.
/// </summary>
[Collection(SyntheticPresetCollection.Name)]
public sealed class ImportanceAdjustmentTests(SyntheticPresetFolders presets) : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("oopt-imatrix-adjust-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_scratch, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Theory]
    [InlineData("all-h128-s2", "norm,smooth,otc,tma")]
    [InlineData("ma-h64-s1", "tma")]
    public void Collecting_on_the_transformed_model_equals_the_adjusted_original(string preset, string mitigations)
    {
        var options = new AnalysisOptions { ImportanceMatrix = true };
        using var model = ModelFolder.Open(presets.Get(preset).Folder);
        var input = TransformHarness.Analyze(model, TransformHarness.Calibration(_scratch), options);
        TransformPlan plan = TransformHarness.Plan(input, TransformOptions.Parse(mitigations));
        Assert.True(plan.IsExact);
        Assert.False(plan.IsIdentity);

        ImportanceMatrix original = ImportanceCollection.FromAnalysis(input.Analysis);
        ImportanceMatrix adjusted = ImportanceAdjustment.Apply(original, plan);
        using var view = new TransformedWeights(model.Weights, model.Config, plan);
        ImportanceMatrix collected = ImportanceCollection.FromAnalysis(AnalysisRunner.Run(model.WithWeights(view), input.Analysis.Calibration, options));

        var divisors = ImportanceAdjustment.InputDivisors(plan);
        Assert.NotEmpty(divisors);
        int changed = 0;
        foreach (var (a, c) in adjusted.Entries.Zip(collected.Entries))
        {
            Assert.Equal(a.Name, c.Name);
            Assert.Equal(a.Counts.ToArray(), c.Counts.ToArray());
            float scale = c.SumSquares.ToArray().Max();
            var before = original.Find(a.Name)!;
            for (int j = 0; j < a.Columns; j++)
            {
                Assert.True(Math.Abs(a.SumSquares[j] - c.SumSquares[j]) <= 1e-3 * c.SumSquares[j] + 1e-6 * scale,
                    $"{a.Name}[{j}]: adjusted Σx² {a.SumSquares[j]}, collected {c.SumSquares[j]}");
                Assert.True(Math.Abs(a.Sums[j] - c.Sums[j]) <= 1e-3 * Math.Sqrt(c.SumSquares[j] * c.Counts[0]) + 1e-6 * Math.Sqrt(scale * c.Counts[0]),
                    $"{a.Name}[{j}]: adjusted Σx {a.Sums[j]}, collected {c.Sums[j]}");
                if (Math.Abs(before.SumSquares[j] - c.SumSquares[j]) > 0.1 * c.SumSquares[j]) changed++;
            }
        }
        Assert.True(changed > 0, "the transforms changed some input columns by more than 10%");
    }
}
