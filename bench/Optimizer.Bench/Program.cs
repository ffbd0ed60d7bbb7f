using BenchmarkDotNet.Running;
using Optimizer.Bench;

// `report`: the side-by-side macro table (scripts/bench.sh); `micro`: BenchmarkDotNet (arguments passed through).
if (args.Length >= 1 && args[0] == "micro")
{
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args[1..]);
    return 0;
}
// `compensate-child`: one measurement of the compensation section in its own process (peak RSS); not for direct use.
if (args.Length >= 1 && args[0] == "compensate-child")
{
    try
    {
        return CompensationBench.Child(args[1..]);
    }
    catch (Exception e)
    {
        Console.Error.WriteLine(e);
        // The parent keeps the last stderr line as the reason.
        Console.Error.WriteLine($"compensate-child: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        return 1;
    }
}
if (args.Length < 1 || args[0] != "report")
{
    Console.Error.WriteLine("usage: Optimizer.Bench report [--repo DIR] [--work DIR] [--tool PATH] [--out FILE] [--runs N] [--threads N]");
    Console.Error.WriteLine("                               [--sizes 50M,200M,1B] [--quant-model 50M] [--skip quant,forward,memory,build,compensation]");
    Console.Error.WriteLine("                               [--compensation-sizes 200M,1B] [--compensation-runs N] [--compensation-layers N]");
    Console.Error.WriteLine("       Optimizer.Bench micro [BenchmarkDotNet arguments, e.g. --filter '*' --job short]");
    return 2;
}
BenchArguments options;
try
{
    options = BenchArguments.Parse(args[1..]);
    if (!options.Skip.Contains("memory") && options.Tool is null)
        throw new ArgumentException("The memory rows need --tool (the published dotnet-outlier-opt), or --skip memory.");
}
catch (ArgumentException e)
{
    Console.Error.WriteLine("bench: " + e.Message);
    return 2;
}
Directory.CreateDirectory(options.Work);
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.Out))!);
var report = new ReportTable();
// The file is rewritten after every section, so a long run that is stopped keeps what it measured.
void Save() => File.WriteAllText(options.Out, report.ToString());
report.Note(MachineInfo.Describe());
string fixture = Path.Combine(options.Repo, "tests", "fixtures", "austen-byte-llama");
// Text calibration and evaluation for the memory rows (scripts/fetch-corpus.sh): self-sampling would dominate the run time.
string corpus = Path.Combine(options.Repo, ".corpus");
var sections = new (string Name, string Title, Action Run)[]
{
    ("quant", "GGUF quantization throughput", () => QuantizationBench.Run(report, options.Work, options.QuantModel, options.Runs, options.Threads)),
    ("forward", "Forward throughput", () => ForwardBench.Run(report, options.Work,
        new[] { ("austen-byte-llama", fixture), ("synthetic-50M", SyntheticSizes.Folder(options.Work, "50M")) }, options.Runs, options.Threads)),
    ("memory", "Peak RSS of `optimize`", () => MemoryBench.Run(report, options.Work, options.Tool!, options.Sizes, new[]
    {
        "--quant", "Q8_0", "--calibration", Path.Combine(corpus, "austen-train.txt"), "--eval-text", Path.Combine(corpus, "austen-heldout.txt"),
        "--calibration-tokens", "512", "--eval-tokens", "512", "--sequence-length", "128",
    })),
    ("build", "`dotnet build` no-op incremental time", () => BuildBench.Run(report, options.Repo, options.Work, options.Runs)),
    ("compensation", "Error-compensating rounding", () => CompensationBench.Run(report, options.Work, Path.Combine(corpus, "austen-train.txt"),
        options.CompensationSizes, options.CompensationRuns, options.CompensationLayers)),
};
int failed = 0;
foreach (var (name, title, run) in sections)
{
    if (options.Skip.Contains(name)) continue;
    try
    {
        run();
    }
    catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException or ArgumentException
                                  or Optimizer.Engine.OptimizerException or LLama.Exceptions.RuntimeError)
    {
        // A section that cannot run is reported, and the others still run.
        failed++;
        report.Heading(title);
        report.Note($"Not measured: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        Console.Error.WriteLine($"bench: {name} failed: {e}");
    }
    Save();
}
report.Note($"Load average at the end: {MachineInfo.Load()}.");
Save();
Console.Write(report.ToString());
return failed == 0 ? 0 : 1;
