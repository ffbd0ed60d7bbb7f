using Optimizer.Engine.Formats;
using Optimizer.Engine.Pipeline;

namespace Optimizer.Engine.Tests.Pipeline;

/// <summary>The pipeline's failure paths: the quality gate, the memory budget and cancellation write nothing.</summary>
[Collection(OptimizeCollection.Name)]
public sealed class OptimizeFailureTests
{
    private readonly OptimizeFixture _fixture;

    public OptimizeFailureTests(OptimizeFixture fixture) => _fixture = fixture;

    [Fact]
    public void A_failed_quality_gate_writes_nothing_and_names_the_model_value_and_limit()
    {
        string output = _fixture.NewOutput("gate");
        OptimizeResult result = OptimizePipeline.Run(_fixture.Options(output) with { Quant = "Q4_0", FailAboveKld = 0, FailAbovePplIncrease = 0.5 });

        Assert.False(result.Gate.Passed);
        Assert.Null(result.Manifest);
        Assert.Empty(result.Outputs);
        Assert.False(Directory.Exists(output));
        Assert.True(result.Gate.KlDivergence > 0);
        Assert.Contains(OptimizeFixture.Preset, result.Gate.Reason);
        Assert.Contains("KL divergence", result.Gate.Reason);
        Assert.Contains("above the limit 0 ", result.Gate.Reason);
        Assert.DoesNotContain("perplexity increase", result.Gate.Reason);
        var error = QualityGate.Failure(result.Gate, _fixture.Model);
        Assert.Equal(ErrorCodes.QualityGateFailed, error.Code);
    }

    [Fact]
    public void A_model_that_does_not_fit_the_memory_budget_fails_before_running()
    {
        string output = _fixture.NewOutput("memory");
        var ex = Assert.Throws<OptimizerException>(() => OptimizePipeline.Run(_fixture.Options(output) with { MaxMemoryBytes = 64 * 1024 }));
        Assert.Equal(ErrorCodes.MemoryBudgetExceeded, ex.Code);
        Assert.Contains(OptimizeFixture.Preset, ex.Message);
        Assert.Contains("64.0 KiB", ex.Message);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void A_tight_memory_budget_evaluates_one_candidate_at_a_time_with_the_same_results()
    {
        var (main, _) = _fixture.Main;
        MemoryEstimate estimate;
        string output = _fixture.NewOutput("tight");
        using (var model = ModelFolder.Open(_fixture.Model)) estimate = MemoryEstimate.ForRun(_fixture.Options(output), model.Config, model.Weights);
        Assert.True(estimate.CompensationBytes > 0 && estimate.CompensatedCandidates == 2, $"{estimate}");
        OptimizeResult result = OptimizePipeline.Run(_fixture.Options(output) with { MaxMemoryBytes = estimate.PeakBytes });
        Assert.Equal(main.Variants, result.Variants);
        Assert.Equal(main.Outputs.Select(o => o.Sha256), result.Outputs.Select(o => o.Sha256));
    }

    [Fact]
    public void Cancelling_while_the_weights_are_written_leaves_no_output()
    {
        string output = _fixture.NewOutput("cancel");
        using var cts = new CancellationTokenSource();
        var stages = new List<string>();
        var progress = new SyncProgress(p =>
        {
            if (stages.Count == 0 || stages[^1] != p.Stage) stages.Add(p.Stage);
            if (p.Stage == "writing") cts.Cancel();
        });
        Assert.ThrowsAny<OperationCanceledException>(() => OptimizePipeline.Run(_fixture.Options(output), progress, cts.Token));
        Assert.Contains("writing", stages);
        // The run created the output folder, so it removes it (empty) again: nothing is left, not even the folder.
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void A_cancelled_token_stops_before_anything_runs()
    {
        string output = _fixture.NewOutput("cancelled");
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => OptimizePipeline.Run(_fixture.Options(output), null, cts.Token));
        Assert.False(Directory.Exists(output));
    }

    private sealed class SyncProgress(Action<OptimizeProgress> report) : IProgress<OptimizeProgress>
    {
        public void Report(OptimizeProgress value) => report(value);
    }
}
