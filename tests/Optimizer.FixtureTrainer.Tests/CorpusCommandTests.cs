using System.Text;
using Optimizer.FixtureTrainer.Corpus;

namespace Optimizer.FixtureTrainer.Tests;

public sealed class CorpusCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("t-corpus-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void SplitCutsAtTheFirstParagraphBreakAfterNinetyFivePercent()
    {
        // 20 paragraphs of 8 bytes separated by blank lines: 199 bytes with newlines, 95% = byte 189, which is where
        // the blank line after paragraph 18 starts.
        var lines = Enumerable.Range(0, 20).SelectMany(i => new string?[] { $"Para {i:D2}.", "" }).SkipLast(1).ToList();
        var (train, heldOut) = CorpusCommand.Split(lines);
        Assert.EndsWith("Para 18.", train);
        Assert.Equal("Para 19.", heldOut);
        Assert.StartsWith("Para 00.\n\nPara 01.", train);
    }

    [Fact]
    public void SplitWithoutAParagraphBreakKeepsEverythingForTraining()
    {
        var (train, heldOut) = CorpusCommand.Split(new string?[] { "one", "two", null, "three" });
        Assert.Equal("one\ntwo\n\nthree", train);
        Assert.Equal("", heldOut);
    }

    [Fact]
    public void RunWritesTrainAndHeldOutFilesFromThePackageLayout()
    {
        string package = Path.Combine(_folder, "pkg");
        string basePath = Path.Combine(package, "usr/lib/R/site-library/janeaustenr/data/Rdata");
        RDataBuilder.Write(basePath, new[] { ("emma", Novel("E", 40)), ("persuasion", Novel("P", 40)) }, gzipIndex: true);
        string output = Path.Combine(_folder, "out");

        Assert.Equal(0, CorpusCommand.Run(new[] { package, output }));

        string train = File.ReadAllText(Path.Combine(output, CorpusCommand.TrainFile), Encoding.UTF8);
        string heldOut = File.ReadAllText(Path.Combine(output, CorpusCommand.HeldOutFile), Encoding.UTF8);
        Assert.StartsWith("E line 00 é\n\nE line 01 é", train);
        Assert.Contains("E line 37 é\n\nP line 00 é", train);
        Assert.Equal("E line 38 é\n\nE line 39 é\n\nP line 38 é\n\nP line 39 é\n", heldOut);
    }

    [Fact]
    public void RunRejectsAPackageWithoutData()
    {
        Assert.Throws<FileNotFoundException>(() => CorpusCommand.Run(new[] { _folder, Path.Combine(_folder, "out") }));
        Assert.Equal(2, CorpusCommand.Run(new[] { _folder }));
    }

    private static string[] Novel(string prefix, int paragraphs) =>
        Enumerable.Range(0, paragraphs).SelectMany(i => new[] { $"{prefix} line {i:D2} é", "" }).SkipLast(1).ToArray();
}
