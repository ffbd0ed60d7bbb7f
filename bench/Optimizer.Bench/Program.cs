using BenchmarkDotNet.Running;
using Optimizer.Bench;

// `report`: the side-by-side macro table (scripts/bench.sh); `micro`: BenchmarkDotNet (arguments passed through).
if (args.Length >= 1 && args[0] == "micro")
{
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args[1..]);
    return 0;
}
if (args.Length < 1 || args[0] != "report")
{
    Console.Error.WriteLine("usage: Optimizer.Bench report [--repo DIR] [--work DIR] [--tool PATH] [--out FILE] [--runs N] [--threads N]");
    Console.Error.WriteLine("                               [--sizes 50M,200M,1B] [--quant-model 50M] [--skip quant,forward,memory,build]");
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
if (!options.Skip.Contains("quant"))
{
    QuantizationBench.Run(report, options.Work, options.QuantModel, options.Runs, options.Threads);
    Save();
}
if (!options.Skip.Contains("forward"))
{
    ForwardBench.Run(report, options.Work, new[] { ("austen-byte-llama", fixture), ("synthetic-50M", SyntheticSizes.Folder(options.Work, "50M")) }, options.Runs, options.Threads);
    Save();
}
if (!options.Skip.Contains("memory"))
{
    // Text calibration and evaluation (scripts/fetch-corpus.sh): self-sampling would dominate the run time.
    string corpus = Path.Combine(options.Repo, ".corpus");
    MemoryBench.Run(report, options.Work, options.Tool!, options.Sizes, new[]
    {
        "--quant", "Q8_0", "--calibration", Path.Combine(corpus, "austen-train.txt"), "--eval-text", Path.Combine(corpus, "austen-heldout.txt"),
        "--calibration-tokens", "512", "--eval-tokens", "512", "--sequence-length", "128",
    });
    Save();
}
if (!options.Skip.Contains("build"))
    BuildBench.Run(report, options.Repo, options.Work, options.Runs);
report.Note($"Load average at the end: {MachineInfo.Load()}.");
Save();
Console.Write(report.ToString());
return 0;
