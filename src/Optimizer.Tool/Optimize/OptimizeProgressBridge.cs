using Optimizer.Engine.Pipeline;
using Optimizer.Tool.Cli;

namespace Optimizer.Tool.Optimize;

/// <summary>
/// Shows the optimize stages: in human mode one progress display per stage (a bar on a terminal, plain lines
/// otherwise); in msbuild mode one plain line on stdout per stage start and per written layer
/// (<c>optimize: layer 3/6</c>), which the build shows as low-importance messages.
/// </summary>
public sealed class OptimizeProgressBridge : IProgress<OptimizeProgress>, IDisposable
{
    private readonly ToolContext _context;
    private readonly bool _msbuild;
    private readonly object _gate = new();
    private ProgressDisplay? _display;
    private string? _stage;
    private long _lastLayer = -1;

    public OptimizeProgressBridge(ToolContext context)
    {
        _context = context;
        _msbuild = context.Diagnostics == DiagnosticsMode.Msbuild && !context.Options.Quiet;
    }

    /// <summary>Moves the current stage's display, starting a new one when the stage changes.</summary>
    public void Report(OptimizeProgress value)
    {
        lock (_gate)
        {
            if (value.Stage != _stage)
            {
                Finish(complete: true);
                _stage = value.Stage;
                _lastLayer = -1;
                if (_msbuild) Line($"optimize: {Describe(value.Stage)}");
                else if (!(value.Total <= 1 && value.Done == 0)) _display = _context.StartProgress(value.Stage, value.Unit, value.Total);
            }
            if (_msbuild)
            {
                if (value.Unit == "layers" && value.Done != _lastLayer && value.Done > 0)
                {
                    _lastLayer = value.Done;
                    Line($"optimize: layer {value.Done}/{value.Total}");
                }
                return;
            }
            _display?.Report(value.Done, Math.Max(value.Total, value.Done));
        }
    }

    /// <summary>Marks the last stage's display complete (call after a successful run).</summary>
    public void Complete()
    {
        lock (_gate) Finish(complete: true);
    }

    /// <summary>Closes the display of the last stage.</summary>
    public void Dispose()
    {
        lock (_gate) Finish(complete: false);
    }

    private void Finish(bool complete)
    {
        if (complete) _display?.Complete();
        _display?.Dispose();
        _display = null;
    }

    private void Line(string text)
    {
        _context.Out.WriteLine(text);
        _context.Out.Flush();
    }

    private static string Describe(string stage) => stage switch
    {
        "sampling" => "sampling calibration text",
        "calibrating" => "calibrating (probed forward passes)",
        "remeasuring" => "re-measuring saturated sites",
        "channels" => "measuring channel magnitudes",
        "diagnosing" => "diagnosing outliers",
        "eval-text" => "sampling evaluation text",
        "verifying" => "verifying exact transforms",
        "clamp-gate" => "checking the TMA clamp on held-out text",
        "census-after" => "census after transforms",
        "preparing" => "preparing variants",
        "evaluating" => "evaluating variants",
        "writing" => "writing weights",
        _ => stage,
    };
}
