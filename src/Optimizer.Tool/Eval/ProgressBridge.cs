using Optimizer.Engine.Evaluation;
using Optimizer.Tool.Cli;

namespace Optimizer.Tool.Eval;

/// <summary>
/// Forwards the evaluator's <see cref="EvalProgress"/> reports to a <see cref="ProgressDisplay"/> synchronously (unlike
/// <see cref="Progress{T}"/>, which posts them to the thread pool and may deliver them after the run ended).
/// </summary>
public sealed class ProgressBridge : IProgress<EvalProgress>
{
    private readonly ProgressDisplay _display;
    private readonly long _totalTokens;

    public ProgressBridge(ProgressDisplay display, long totalTokens)
    {
        _display = display;
        _totalTokens = totalTokens;
    }

    public void Report(EvalProgress value) => _display.Report(value.TokensScored, Math.Max(_totalTokens, value.TokensScored));
}
