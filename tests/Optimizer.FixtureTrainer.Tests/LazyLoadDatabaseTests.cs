using Optimizer.FixtureTrainer.Corpus;

namespace Optimizer.FixtureTrainer.Tests;

public sealed class LazyLoadDatabaseTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("t-lazyload-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ReadsObjectsThroughTheIndexInEitherIndexCompression(bool gzipIndex)
    {
        string basePath = RDataBuilder.Write(Path.Combine(_folder, "Rdata"), new[] { ("first", new[] { "One.", "", "Two." }), ("second", new[] { "Three." }) }, gzipIndex);
        var db = LazyLoadDatabase.Open(basePath);
        Assert.Equal(new[] { "first", "second" }, db.Names);
        Assert.Equal(new string?[] { "One.", "", "Two." }, Assert.IsType<RStrings>(db.Read("first")).Values);
        Assert.Equal(new string?[] { "Three." }, Assert.IsType<RStrings>(db.Read("second")).Values);
        Assert.Throws<KeyNotFoundException>(() => db.Read("third"));
    }

    [Fact]
    public void RefusesEntriesOutsideTheFileAndCorruptStreams()
    {
        string basePath = RDataBuilder.Write(Path.Combine(_folder, "Rdata"), new[] { ("book", new[] { "Text." }) }, gzipIndex: true);
        File.WriteAllBytes(basePath + ".rdb", new byte[] { 0, 0, 0, 9, 0x78, 0x9C, 1, 2, 3 });
        var db = LazyLoadDatabase.Open(basePath);
        Assert.Contains("outside the file", Assert.Throws<InvalidDataException>(() => db.Read("book")).Message);

        File.WriteAllBytes(basePath + ".rdb", Enumerable.Repeat((byte)0x55, 64).ToArray());
        Assert.Contains("book", Assert.Throws<InvalidDataException>(() => LazyLoadDatabase.Open(basePath).Read("book")).Message);
    }

    [Fact]
    public void MissingFilesAreNamed()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => LazyLoadDatabase.Open(Path.Combine(_folder, "none")));
        Assert.Contains("none.rdx", ex.Message);
    }
}
