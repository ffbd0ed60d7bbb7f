using Optimizer.FixtureTrainer.Corpus;
using Optimizer.FixtureTrainer.Training;

namespace Optimizer.FixtureTrainer;

/// <summary>Entry point: dispatches the <c>corpus</c>, <c>train</c>, <c>sample</c> and <c>stats</c> subcommands.</summary>
internal static class Program
{
    private const string Usage =
        "usage: Optimizer.FixtureTrainer <command> ...\n" +
        "  corpus <unpacked-janeaustenr-dir> <out-dir>   convert the R data package to austen-train.txt / austen-heldout.txt\n" +
        "  train  --out <model-dir> [--corpus dir] [--minutes m] [--steps n] [--seed s] [--batch b] [--seq t] [--lr x]\n" +
        "         [--warmup n] [--weight-decay x] [--eval-every n] [--eval-windows n] [--save-minutes m] [--threads n]\n" +
        "         [--layers n] [--hidden n] [--heads n] [--kv-heads n] [--intermediate n]   train the byte-level Llama\n" +
        "  sample --model <model-dir> [--prompt text] [--tokens n] [--temperature t] [--seed s]\n" +
        "  stats  --model <model-dir> --corpus <dir> [--windows n]   per-layer activation statistics on held-out text\n" +
        "  verify --model <model-dir> --corpus <dir> [--windows n] [--tolerance t]   compare with the engine's LlamaModel";

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.Error.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            string[] rest = args[1..];
            return args[0] switch
            {
                "corpus" => CorpusCommand.Run(rest),
                "train" => TrainCommand.Run(rest),
                "sample" => SampleCommand.Run(rest),
                "stats" => StatsCommand.Run(rest),
                "verify" => VerifyCommand.Run(rest),
                _ => UnknownCommand(args[0]),
            };
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or ArgumentException or KeyNotFoundException
                                       or UnauthorizedAccessException or Optimizer.Engine.OptimizerException or FormatException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
    }

    private static int UnknownCommand(string name)
    {
        Console.Error.WriteLine($"error: unknown command \"{name}\".\n{Usage}");
        return 2;
    }
}
