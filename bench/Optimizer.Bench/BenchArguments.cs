namespace Optimizer.Bench;

/// <summary>Options of the `report` command (see scripts/bench.sh and docs/performance.md).</summary>
public sealed record BenchArguments
{
    /// <summary>Repository root (samples/ConsumerApp and bench/ are found there).</summary>
    public string Repo { get; init; } = Directory.GetCurrentDirectory();

    /// <summary>Scratch folder for generated models and outputs (reused between runs).</summary>
    public string Work { get; init; } = Path.Combine(Path.GetTempPath(), "outlier-opt-bench");

    /// <summary>The published tool (apphost or dll) for the memory rows.</summary>
    public string? Tool { get; init; }

    /// <summary>Markdown output file.</summary>
    public string Out { get; init; } = Path.Combine("bench", "results", "latest.md");

    /// <summary>Repetitions per measurement.</summary>
    public int Runs { get; init; } = 3;

    /// <summary>Threads given to llama.cpp (default: every core).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Synthetic sizes of the memory rows.</summary>
    public IReadOnlyList<string> Sizes { get; init; } = new[] { "50M", "200M", "1B" };

    /// <summary>Synthetic size quantized in the throughput rows.</summary>
    public string QuantModel { get; init; } = "50M";

    /// <summary>Synthetic sizes of the error-compensating rounding rows.</summary>
    public IReadOnlyList<string> CompensationSizes { get; init; } = new[] { "200M", "1B" };

    /// <summary>Repetitions of the error-compensating rounding rows (default 1: a 1B case takes many minutes).</summary>
    public int CompensationRuns { get; init; } = 1;

    /// <summary>Compensate only the first N layers of each model in the error-compensating rounding rows (null: all).</summary>
    public int? CompensationLayers { get; init; }

    /// <summary>Sections to skip: quant, forward, memory, build, compensation.</summary>
    public IReadOnlySet<string> Skip { get; init; } = new HashSet<string>();

    /// <summary>Parses `--name value` pairs; throws <see cref="ArgumentException"/> naming a bad one.</summary>
    public static BenchArguments Parse(IReadOnlyList<string> args)
    {
        var result = new BenchArguments();
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            if (i + 1 >= args.Count) throw new ArgumentException($"{name} needs a value.");
            string value = args[++i];
            result = name switch
            {
                "--repo" => result with { Repo = Path.GetFullPath(value) },
                "--work" => result with { Work = Path.GetFullPath(value) },
                "--tool" => result with { Tool = Path.GetFullPath(value) },
                "--out" => result with { Out = value },
                "--runs" => result with { Runs = Positive(name, value) },
                "--threads" => result with { Threads = Positive(name, value) },
                "--sizes" => result with { Sizes = List(value) },
                "--quant-model" => result with { QuantModel = value },
                "--compensation-sizes" => result with { CompensationSizes = List(value) },
                "--compensation-runs" => result with { CompensationRuns = Positive(name, value) },
                "--compensation-layers" => result with { CompensationLayers = Positive(name, value) },
                "--skip" => result with { Skip = List(value).ToHashSet() },
                _ => throw new ArgumentException($"Unknown option {name}."),
            };
        }
        return result;
    }

    private static int Positive(string name, string value)
        => int.TryParse(value, out int n) && n > 0 ? n : throw new ArgumentException($"{name} must be a positive integer, not '{value}'.");

    private static string[] List(string value) => value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
