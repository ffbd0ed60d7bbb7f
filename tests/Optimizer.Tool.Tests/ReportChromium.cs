using System.Diagnostics;
using System.Text;

namespace Optimizer.Tool.Tests;

/// <summary>
/// Runs Debian's headless Chromium (<c>/usr/bin/chromium</c>, installed by scripts/install-test-deps.sh) on a local file:
/// a screenshot or the DOM after rendering. Each run gets a fresh profile folder and no network.
/// </summary>
public static class ReportChromium
{
    public const string Path = "/usr/bin/chromium";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>Takes a <paramref name="width"/>×<paramref name="height"/> screenshot of <paramref name="html"/> into <paramref name="png"/>.</summary>
    public static void Screenshot(string html, string png, int width, int height) =>
        Run(html, $"--screenshot={png}", $"--window-size={width},{height}");

    /// <summary>The serialized DOM of <paramref name="html"/> after it was loaded and laid out.</summary>
    public static string DumpDom(string html) => Run(html, "--dump-dom", "--window-size=1280,2000");

    private static string Run(string html, params string[] arguments)
    {
        Assert.True(File.Exists(Path), $"{Path} is missing: run scripts/install-test-deps.sh (installs Debian's chromium package).");
        string profile = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "outlier-opt-chromium-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        try
        {
            var info = new ProcessStartInfo(Path)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                StandardOutputEncoding = Encoding.UTF8,
            };
            foreach (string a in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", $"--user-data-dir={profile}",
            }.Concat(arguments))
            {
                info.ArgumentList.Add(a);
            }
            info.ArgumentList.Add(new Uri(System.IO.Path.GetFullPath(html)).AbsoluteUri);
            info.Environment["HOME"] = profile;
            using var process = Process.Start(info)!;
            var stdout = new StringBuilder();
            var stderr = new StringBuilder();
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.Append(e.Data).Append('\n'); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.Append(e.Data).Append('\n'); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (!process.WaitForExit(Timeout))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                Assert.Fail($"Chromium did not finish within {Timeout}.\n{stderr}");
            }
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"Chromium exited with {process.ExitCode}.\n{stderr}");
            return stdout.ToString();
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
