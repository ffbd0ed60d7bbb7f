using System.Security.Cryptography;
using System.Text;
using Optimizer.Engine.Calibration;
using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Calibration;

/// <summary>Calibration from text files and folders: chunking, BOS, budget, ordering, recorded paths and every error path.</summary>
public sealed class TextCalibrationTests : IDisposable
{
    private readonly CalibrationFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Prose(int bytes, char start = 'a')
    {
        var text = new StringBuilder(bytes);
        for (int i = 0; i < bytes; i++) text.Append((char)(start + i % 26));
        return text.ToString();
    }

    [Fact]
    public void ChunksAFileIntoBosSequencesOfConsecutiveTokens()
    {
        string path = _folder.Write("one.txt", Prose(100));
        var set = TextCalibration.Build(_folder.Model.Tokenizer, new CalibrationOptions { Paths = new[] { path }, SequenceLength = 16, Tokens = 1000 });
        Assert.True(set.Bos);
        Assert.Equal(6, set.Sequences.Count); // 100 bytes / 15 text tokens per sequence
        Assert.Equal(96, set.TokenCount);
        for (int s = 0; s < 6; s++)
        {
            Assert.Equal(ByteLevelVocabulary.BosId, set.Sequences[s][0]);
            for (int p = 1; p < 16; p++) Assert.Equal('a' + (s * 15 + p - 1) % 26, set.Sequences[s][p]);
        }
        Assert.Equal(CalibrationSourceKind.Text, set.Source.Kind);
        Assert.Equal("text", set.Source.Id);
        Assert.Null(set.Source.Seed);
        Assert.Null(set.Source.Sampling);
        var file = Assert.Single(set.Source.Files);
        Assert.Equal(("one.txt", 100L, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)))), (file.Path, file.Bytes, file.Sha256));
        Assert.Equal(ExpectedHash(set.Sequences), set.TokensSha256);
        Assert.Equal('a' + 15 % 26, set.TokenAt(17));
    }

    [Fact]
    public void TheTokenBudgetLimitsTheSequences()
    {
        string path = _folder.Write("one.txt", Prose(400));
        var set = TextCalibration.Build(_folder.Model.Tokenizer, new CalibrationOptions { Paths = new[] { path }, SequenceLength = 16, Tokens = 50 });
        Assert.Equal(3, set.Sequences.Count);
    }

    [Fact]
    public void FoldersAreReadRecursivelyInOrdinalPathOrderAndRecordedRelatively()
    {
        _folder.Write("corpus/b.txt", Prose(20, 'b'));
        _folder.Write("corpus/a.txt", Prose(20, 'a'));
        _folder.Write("corpus/sub/c.txt", Prose(20, 'c'));
        _folder.Write("corpus/skip.md", "not text calibration");
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, Path.Combine(_folder.Root, "corpus"));
        var options = new CalibrationOptions { Paths = new[] { Path.Combine(_folder.Root, "corpus") }, SequenceLength = 11, Tokens = 1000 };
        var set = TextCalibration.Build(_folder.Model.Tokenizer, options);
        Assert.Equal(new[] { "a.txt", "b.txt", "sub/c.txt" }, set.Source.Files.Select(f => f.Path));
        Assert.Equal(new[] { 'a', 'k', 'b', 'l', 'c', 'm' }, set.Sequences.Select(s => (char)s[1]));

        var viaRelative = TextCalibration.Build(_folder.Model.Tokenizer, options with { Paths = new[] { relative } });
        string prefix = relative.Replace('\\', '/');
        Assert.Equal(new[] { prefix + "/a.txt", prefix + "/b.txt", prefix + "/sub/c.txt" }, viaRelative.Source.Files.Select(f => f.Path));
        Assert.Equal(set.TokensSha256, viaRelative.TokensSha256);
    }

    [Fact]
    public void AByteOrderMarkIsDroppedButCountedInTheFileSize()
    {
        byte[] bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes(Prose(30))).ToArray();
        string path = _folder.Write("bom.txt", bytes);
        var set = TextCalibration.Build(_folder.Model.Tokenizer, new CalibrationOptions { Paths = new[] { path }, SequenceLength = 11, Tokens = 1000 });
        Assert.Equal('a', set.Sequences[0][1]);
        Assert.Equal(33, set.Source.Files[0].Bytes);
    }

    [Fact]
    public void AnEmptyFileIsRejectedByName()
    {
        string path = _folder.Write("empty.txt", "");
        var error = Build(path);
        Assert.Equal((ErrorCodes.TextInvalid, "empty.txt"), (error.Code, error.File));
        Assert.Contains("empty", error.Message);
    }

    [Fact]
    public void AFileShorterThanOneSequenceIsRejectedByName()
    {
        string good = _folder.Write("good.txt", Prose(100));
        string shortFile = _folder.Write("short.txt", Prose(10));
        var error = Assert.Throws<OptimizerException>(() => TextCalibration.Build(_folder.Model.Tokenizer,
            new CalibrationOptions { Paths = new[] { good, shortFile }, SequenceLength = 16, Tokens = 1000 }));
        Assert.Equal((ErrorCodes.TextTooShort, "short.txt"), (error.Code, error.File));
        Assert.Contains("10 token(s)", error.Message);
    }

    [Fact]
    public void BytesThatAreNotUtf8AreRejectedWithLineAndColumn()
    {
        byte[] bytes = Encoding.UTF8.GetBytes("first line\nsecond é ").Concat(new byte[] { 0xC3, 0x28 }).Concat(Encoding.UTF8.GetBytes(Prose(40))).ToArray();
        string path = _folder.Write("bad.txt", bytes);
        var error = Build(path);
        Assert.Equal((ErrorCodes.TextInvalid, "bad.txt", 2, 10), (error.Code, error.File, error.Line, error.Column));
        Assert.Contains("0xC3", error.Message);
    }

    [Fact]
    public void AMissingPathAndAFolderWithoutTextAreRejected()
    {
        var missing = Build(Path.Combine(_folder.Root, "nope.txt"));
        Assert.Equal(ErrorCodes.CalibrationPathMissing, missing.Code);
        Directory.CreateDirectory(Path.Combine(_folder.Root, "empty-folder"));
        var empty = Build(Path.Combine(_folder.Root, "empty-folder"));
        Assert.Equal(ErrorCodes.TextInvalid, empty.Code);
        Assert.EndsWith("empty-folder", empty.File);
    }

    [Theory]
    [InlineData(1, 100)]
    [InlineData(32, 16)]
    public void InvalidChunkingIsRejected(int sequenceLength, int tokens)
    {
        string path = _folder.Write("one.txt", Prose(100));
        var error = Assert.Throws<OptimizerException>(() => TextCalibration.Build(_folder.Model.Tokenizer,
            new CalibrationOptions { Paths = new[] { path }, SequenceLength = sequenceLength, Tokens = tokens }));
        Assert.Equal(ErrorCodes.CalibrationOptionInvalid, error.Code);
    }

    private OptimizerException Build(string path) => Assert.Throws<OptimizerException>(() => TextCalibration.Build(_folder.Model.Tokenizer,
        new CalibrationOptions { Paths = new[] { path }, SequenceLength = 16, Tokens = 1000 }));

    internal static string ExpectedHash(IReadOnlyList<int[]> sequences)
    {
        var bytes = sequences.SelectMany(s => s).SelectMany(BitConverter.GetBytes).ToArray();
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }
}
