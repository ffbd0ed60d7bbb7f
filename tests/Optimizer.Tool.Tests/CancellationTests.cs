using System.Diagnostics;
using System.Text;

namespace Optimizer.Tool.Tests;

/// <summary>Ctrl+C (SIGINT) and SIGTERM during a long evaluation: "cancelled", exit 1, promptly, nothing left behind.</summary>
public sealed class CancellationTests
{
    private const int SigInt = 2;
    private const int SigTerm = 15;

    [Theory]
    [InlineData(SigInt)]
    [InlineData(SigTerm)]
    public void Signal_DuringEval_ExitsOneWithCancelled(int signal)
    {
        using var model = TinyModel.Create(hidden: 64, layers: 4, heads: 4, kvHeads: 2, intermediate: 128);
        // Far more text than the test lets it finish: a full run would take minutes.
        string text = model.WriteText("long.txt", SampleText.Create(2_000_000));
        var before = model.ListFiles();

        using Process process = ToolProcess.Start(
            new[] { "eval", model.Folder, "--text", text, "--context", "256", "--batch", "1" }, out var stdout, out var stderr);
        try
        {
            // The status line is printed once the model is loaded and scoring starts.
            Assert.True(WaitFor(() => Snapshot(stderr).Contains("eval: tiny-llama:"), TimeSpan.FromSeconds(90)),
                $"The evaluation did not start.\n{Snapshot(stderr)}");
            Thread.Sleep(300);
            Assert.False(process.HasExited, $"The evaluation ended before it could be cancelled.\n{Snapshot(stdout)}");

            var clock = Stopwatch.StartNew();
            ToolProcess.Signal(process, signal);
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(15)), "The tool did not stop within 15 s of the signal.");
            process.WaitForExit();
            clock.Stop();

            string err = Snapshot(stderr);
            Assert.Equal(1, process.ExitCode);
            Assert.Contains("outlier-opt: error OOPT1099: cancelled\n", err);
            Assert.DoesNotContain("   at ", err);
            Assert.DoesNotContain("Perplexity", Snapshot(stdout));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"Stopping took {clock.Elapsed.TotalSeconds:0.0} s.");
            Assert.Equal(before, model.ListFiles());
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    private static string Snapshot(StringBuilder builder)
    {
        lock (builder) return builder.ToString();
    }

    private static bool WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (condition()) return true;
            Thread.Sleep(50);
        }
        return condition();
    }
}
