using System.Text;

namespace Optimizer.FixtureTrainer.Corpus;

/// <summary>
/// <c>corpus &lt;unpacked-dir&gt; &lt;out-dir&gt;</c>: converts the novels of the unpacked <c>r-cran-janeaustenr</c> package
/// into <c>austen-train.txt</c> and <c>austen-heldout.txt</c>.
/// Split (deterministic): each novel's lines are joined with "\n"; the held-out part of a novel starts at the first
/// paragraph break (empty line) at or after 95% of its bytes, so held-out text is the last ~5% of every novel and is
/// never seen in training. Novels are taken in the package's index order and separated by a blank line in each file.
/// </summary>
internal static class CorpusCommand
{
    public const string TrainFile = "austen-train.txt";
    public const string HeldOutFile = "austen-heldout.txt";
    private const double TrainFraction = 0.95;
    private const string DataBase = "usr/lib/R/site-library/janeaustenr/data/Rdata";

    public static int Run(string[] args)
    {
        if (args.Length != 2)
        {
            Console.Error.WriteLine("usage: corpus <unpacked-package-dir> <out-dir>");
            return 2;
        }
        string basePath = Path.Combine(args[0], DataBase);
        var db = LazyLoadDatabase.Open(basePath);
        if (db.Names.Count == 0) throw new InvalidDataException($"{basePath}.rdx: the database holds no objects.");

        var train = new StringBuilder();
        var heldOut = new StringBuilder();
        var utf8 = new UTF8Encoding(false);
        foreach (string name in db.Names)
        {
            if (db.Read(name) is not RStrings lines)
                throw new InvalidDataException($"{basePath}.rdb[{name}]: expected a character vector of lines.");
            var (head, tail) = Split(lines.Values);
            Append(train, head);
            Append(heldOut, tail);
            Console.WriteLine($"{name,-18} {utf8.GetByteCount(head),9} train bytes {utf8.GetByteCount(tail),8} held-out bytes");
        }

        Directory.CreateDirectory(args[1]);
        string trainPath = Path.Combine(args[1], TrainFile), heldOutPath = Path.Combine(args[1], HeldOutFile);
        byte[] trainBytes = utf8.GetBytes(train.ToString()), heldOutBytes = utf8.GetBytes(heldOut.ToString());
        Optimizer.Engine.Formats.AtomicFile.Write(trainPath, s => s.Write(trainBytes));
        Optimizer.Engine.Formats.AtomicFile.Write(heldOutPath, s => s.Write(heldOutBytes));
        Console.WriteLine($"wrote {trainPath} ({trainBytes.Length} bytes) and {heldOutPath} ({heldOutBytes.Length} bytes)");
        return 0;
    }

    /// <summary>Splits one novel's lines (NA lines become empty) into train and held-out text.</summary>
    internal static (string Train, string HeldOut) Split(IReadOnlyList<string?> lines)
    {
        var utf8 = new UTF8Encoding(false);
        long total = 0;
        foreach (string? line in lines) total += utf8.GetByteCount(line ?? "") + 1;
        long threshold = (long)(total * TrainFraction);
        long seen = 0;
        int cut = lines.Count;
        for (int i = 0; i < lines.Count; i++)
        {
            if (seen >= threshold && string.IsNullOrEmpty(lines[i]))
            {
                cut = i;
                break;
            }
            seen += utf8.GetByteCount(lines[i] ?? "") + 1;
        }
        string head = string.Join("\n", lines.Take(cut).Select(l => l ?? "")).Trim('\n');
        string tail = string.Join("\n", lines.Skip(cut).Select(l => l ?? "")).Trim('\n');
        return (head, tail);
    }

    private static void Append(StringBuilder text, string part)
    {
        if (part.Length == 0) return;
        if (text.Length > 0) text.Append('\n');
        text.Append(part).Append('\n');
    }
}
