using Optimizer.Engine.Diagnostics;
using Optimizer.Tool.Cli;

namespace Optimizer.Tool.Analyze;

/// <summary>Shows the analysis stages (sampling, calibrating, remeasuring, channels) as one progress display per stage.</summary>
public sealed class AnalysisProgressBridge : IProgress<AnalysisProgress>, IDisposable
{
    private readonly ToolContext _context;
    private ProgressDisplay? _display;
    private string? _stage;

    public AnalysisProgressBridge(ToolContext context) => _context = context;

    /// <summary>Moves the current stage's display, starting a new one when the stage changes.</summary>
    public void Report(AnalysisProgress value)
    {
        if (value.Stage != _stage)
        {
            Finish(complete: true);
            _stage = value.Stage;
            if (value.Total <= 1 && value.Done == 0) return;
            _display = _context.StartProgress(value.Stage, UnitOf(value.Stage), value.Total);
        }
        _display?.Report(value.Done, Math.Max(value.Total, value.Done));
    }

    /// <summary>Marks the last stage's display complete (call after a successful run).</summary>
    public void Complete() => Finish(complete: true);

    /// <summary>Closes the display of the last stage (erasing it when the run did not complete).</summary>
    public void Dispose() => Finish(complete: false);

    private void Finish(bool complete)
    {
        if (complete) _display?.Complete();
        _display?.Dispose();
        _display = null;
    }

    private static string UnitOf(string stage) => stage == "sampling" ? "tokens" : "sequences";
}
