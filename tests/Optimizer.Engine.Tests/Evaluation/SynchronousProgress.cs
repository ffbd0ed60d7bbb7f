using Optimizer.Engine.Evaluation;

namespace Optimizer.Engine.Tests.Evaluation;

/// <summary>An <see cref="IProgress{T}"/> that calls back on the reporting thread.</summary>
internal sealed class SynchronousProgress : IProgress<EvalProgress>
{
    private readonly Action<EvalProgress> _report;

    public SynchronousProgress(Action<EvalProgress> report) => _report = report;

    public void Report(EvalProgress value) => _report(value);
}
