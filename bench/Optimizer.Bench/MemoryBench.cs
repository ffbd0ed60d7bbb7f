using System.Diagnostics;
using System.Globalization;
using Optimizer.Engine.Formats;

namespace Optimizer.Bench;

/// <summary>
/// Peak resident memory of `optimize` on synthetic models of increasing size: the published tool runs as a child
/// process and its VmHWM (the kernel's resident high-water mark) is read from /proc/&lt;pid&gt;/status every 20 ms until it
/// exits. Target: peak RSS below 40% of the model's F32 size.
/// </summary>
public static class MemoryBench
{
    private const double Target = 0.40;

    /// <summary>Runs `optimize` once per size and appends the table.</summary>
    public static void Run(ReportTable report, string work, string tool, IReadOnlyList<string> sizes, IReadOnlyList<string> optimizeArguments)
    {
        var rows = new List<string[]>();
        foreach (string size in sizes)
        {
            string folder = SyntheticSizes.Folder(work, size);
            long parameters, f32Bytes;
            using (var model = ModelFolder.Open(folder))
            {
                parameters = model.ParameterCount;
                f32Bytes = 4 * parameters;
            }
            string output = Path.Combine(work, "optimize-" + size);
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
            var arguments = new List<string> { "optimize", folder, "-o", output };
            arguments.AddRange(optimizeArguments);
            var (exit, peak, anon, file, seconds, error) = RunChild(tool, arguments);
            double ratio = peak / (double)f32Bytes;
            string verdict = exit != 0 ? $"failed (exit {exit}): {error}" : ratio < Target ? "met" : "missed";
            rows.Add(new[]
            {
                size, (parameters / 1e6).ToString("F0", CultureInfo.InvariantCulture) + "M", Mib(f32Bytes), Mib(peak), Mib(anon), Mib(file),
                (ratio * 100).ToString("F0", CultureInfo.InvariantCulture) + "%", seconds.ToString("F0", CultureInfo.InvariantCulture), verdict,
            });
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
        report.Heading("Peak RSS of `optimize` (child process, VmHWM) vs model size");
        report.Note($"Arguments: `optimize <model> -o <dir> {string.Join(' ', optimizeArguments)}`. Target: peak RSS < {Target:P0} of the F32 model size.");
        report.Table(new[] { "model", "parameters", "F32 size (MiB)", "peak RSS (MiB)", "max RssAnon", "max RssFile", "peak / F32", "wall s", "target < 40%" }, rows);
    }

    /// <summary>
    /// Runs <paramref name="tool"/> (an apphost, or a .dll run with `dotnet`) and samples its VmHWM, and the largest
    /// anonymous (heap, native allocations) and file-backed (memory-mapped weights) resident parts seen.
    /// </summary>
    public static (int Exit, long PeakBytes, long AnonBytes, long FileBytes, double Seconds, string Error) RunChild(string tool, IReadOnlyList<string> arguments)
    {
        var (exit, peak, anon, file, seconds, error, _) = RunChildWithOutput(tool, arguments, forwardErrors: false);
        return (exit, peak, anon, file, seconds, error);
    }

    /// <summary>
    /// <see cref="RunChild"/> that also returns the child's stdout; with <paramref name="forwardErrors"/>, the child's stderr
    /// lines are copied to this process's stderr as they come (progress of long runs).
    /// </summary>
    public static (int Exit, long PeakBytes, long AnonBytes, long FileBytes, double Seconds, string Error, string Output) RunChildWithOutput(
        string tool, IReadOnlyList<string> arguments, bool forwardErrors = true)
    {
        var info = tool.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
            ? new ProcessStartInfo("dotnet") { ArgumentList = { tool } }
            : new ProcessStartInfo(tool);
        foreach (string a in arguments) info.ArgumentList.Add(a);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {tool}.");
        var stderr = Task.Run(() =>
        {
            var lines = new List<string>();
            while (process.StandardError.ReadLine() is { } line)
            {
                lines.Add(line);
                if (forwardErrors) Console.Error.WriteLine("  " + line);
            }
            return string.Join('\n', lines);
        });
        var stdout = process.StandardOutput.ReadToEndAsync();
        long peak = 0, anon = 0, file = 0;
        string status = $"/proc/{process.Id}/status";
        while (!process.HasExited)
        {
            var (hwm, rssAnon, rssFile) = Read(status);
            peak = Math.Max(peak, hwm);
            anon = Math.Max(anon, rssAnon);
            file = Math.Max(file, rssFile);
            Thread.Sleep(20);
        }
        process.WaitForExit();
        string error = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
        return (process.ExitCode, peak, anon, file, watch.Elapsed.TotalSeconds, error, stdout.Result);
    }

    /// <summary>VmHWM, RssAnon and RssFile in bytes from a /proc status file (zeros once the process is gone).</summary>
    private static (long Hwm, long Anon, long File) Read(string statusPath)
    {
        long hwm = 0, anon = 0, file = 0;
        try
        {
            foreach (string line in File.ReadLines(statusPath))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = Kib(line);
                else if (line.StartsWith("RssAnon:", StringComparison.Ordinal)) anon = Kib(line);
                else if (line.StartsWith("RssFile:", StringComparison.Ordinal)) file = Kib(line);
            }
        }
        catch (IOException)
        {
        }
        return (hwm, anon, file);
    }

    private static long Kib(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);
}
