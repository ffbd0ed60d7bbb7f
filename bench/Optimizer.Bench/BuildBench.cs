using System.Diagnostics;

namespace Optimizer.Bench;

/// <summary>
/// `dotnet build` no-op incremental time of samples/ConsumerApp with its OptimizedModel items vs the same app with them
/// removed (bench/NoOptimizedModels.targets through CustomAfterMicrosoftCommonTargets). Each variant builds once into its
/// own artifacts folder (the first build optimizes the models), then the timed builds change nothing; interleaved.
/// </summary>
public static class BuildBench
{
    /// <summary>Measures and appends the table.</summary>
    public static void Run(ReportTable report, string repo, string work, int runs)
    {
        string project = Path.Combine(repo, "samples", "ConsumerApp");
        string without = Path.Combine(repo, "bench", "NoOptimizedModels.targets");
        var variants = new (string Name, string Artifacts, string[] Extra)[]
        {
            ("with OptimizedModel items (2 models)", Path.Combine(work, "consumer-with"), Array.Empty<string>()),
            ("without OptimizedModel items", Path.Combine(work, "consumer-without"), new[] { $"-p:CustomAfterMicrosoftCommonTargets={without}" }),
        };
        var samples = variants.Select(_ => new Sample()).ToArray();
        for (int v = 0; v < variants.Length; v++) Build(project, variants[v].Artifacts, variants[v].Extra);
        for (int run = 0; run < runs; run++)
        {
            for (int v = 0; v < variants.Length; v++) samples[v].Add(Build(project, variants[v].Artifacts, variants[v].Extra));
        }
        report.Heading($"`dotnet build` no-op incremental time, samples/ConsumerApp (Release), {runs} runs");
        report.Table(new[] { "variant", "seconds, median (min–max)" },
            variants.Select((v, i) => (IReadOnlyList<string>)new[] { v.Name, samples[i].Format("F2") }));
    }

    private static double Build(string project, string artifacts, string[] extra)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "build", project, "-c", "Release", "--artifacts-path", artifacts, "-nologo", "-v:q" }.Concat(extra)) info.ArgumentList.Add(a);
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start dotnet build.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        double seconds = watch.Elapsed.TotalSeconds;
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"dotnet build {project} failed (exit {process.ExitCode}):\n{output.Result}\n{error.Result}");
        return seconds;
    }
}
