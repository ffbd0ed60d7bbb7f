using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace Optimizer.Tool.Tests;

/// <summary>The outcome of one run of the tool.</summary>
public sealed record ToolResult(int ExitCode, string StdOut, string StdErr, TimeSpan Elapsed)
{
    public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:0.0}s\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}

/// <summary>
/// Runs the built <c>dotnet-outlier-opt.dll</c> out of process with <c>dotnet</c>. The dll is the one this test build
/// produced (recorded as assembly metadata at build time); <c>OUTLIER_OPT_TOOL</c> overrides it.
/// </summary>
public static class ToolProcess
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Full path of the tool's dll.</summary>
    public static string DllPath { get; } = LocateTool();

    /// <summary>Runs the tool to completion (fails the test on timeout).</summary>
    public static ToolResult Run(params string[] args) => Run(args, DefaultTimeout);

    public static ToolResult Run(string[] args, TimeSpan timeout) => Run(args, timeout, environment: null);

    /// <summary>Runs the tool with extra environment variables (a null value removes the variable).</summary>
    public static ToolResult Run(string[] args, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment)
    {
        using var process = Start(args, out var stdout, out var stderr, environment);
        var clock = Stopwatch.StartNew();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"The tool did not finish within {timeout}: {string.Join(' ', args)}\n{stderr}");
        }
        process.WaitForExit();
        return new ToolResult(process.ExitCode, stdout.ToString(), stderr.ToString(), clock.Elapsed);
    }

    private const string EnvPath = "/usr/bin/env";

    /// <summary>Starts the tool; stdout and stderr are collected into the builders as they arrive.</summary>
    public static Process Start(string[] args, out StringBuilder stdout, out StringBuilder stderr,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        // A test run started in the background by a non-interactive shell (as CI may start it) inherits SIGINT and SIGQUIT
        // as ignored, and the .NET runtime rightly keeps an inherited SIG_IGN: Ctrl+C tests would then measure the shell,
        // not the tool. Start the tool as a terminal would, with those signals at their default disposition.
        bool resetSignals = File.Exists(EnvPath);
        var info = new ProcessStartInfo(resetSignals ? EnvPath : DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (resetSignals)
        {
            info.ArgumentList.Add("--default-signal=INT,QUIT");
            info.ArgumentList.Add(DotnetHost());
        }
        info.ArgumentList.Add(DllPath);
        foreach (string a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) info.Environment.Remove(name);
            else info.Environment[name] = value;
        }
        var output = new StringBuilder();
        var error = new StringBuilder();
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.Append(e.Data).Append('\n'); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (error) error.Append(e.Data).Append('\n'); };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        stdout = output;
        stderr = error;
        return process;
    }

    /// <summary>Sends a POSIX signal (e.g. SIGINT = 2, SIGTERM = 15) to <paramref name="process"/>.</summary>
    public static void Signal(Process process, int signal)
    {
        if (kill(process.Id, signal) != 0)
            throw new InvalidOperationException($"kill({process.Id}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}.");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    private static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        string? processPath = Environment.ProcessPath;
        if (processPath is not null && Path.GetFileNameWithoutExtension(processPath) == "dotnet") return processPath;
        return "dotnet";
    }

    private static string LocateTool()
    {
        string? overridden = Environment.GetEnvironmentVariable("OUTLIER_OPT_TOOL");
        if (!string.IsNullOrEmpty(overridden))
        {
            if (!File.Exists(overridden)) throw new FileNotFoundException($"OUTLIER_OPT_TOOL points to a missing file: {overridden}");
            return Path.GetFullPath(overridden);
        }
        string? recorded = typeof(ToolProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "OutlierOptToolPath")?.Value;
        if (string.IsNullOrEmpty(recorded))
            throw new InvalidOperationException("The test assembly does not record where the tool was built (OutlierOptToolPath).");
        if (!File.Exists(recorded))
            throw new FileNotFoundException($"The tool recorded at build time is missing: {recorded}. Rebuild the test project.");
        return recorded;
    }
}
