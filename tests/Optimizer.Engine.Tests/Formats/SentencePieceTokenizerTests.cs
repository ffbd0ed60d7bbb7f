using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Formats;

/// <summary>A SentencePiece tokenizer.model written by the test, loaded through LlamaTokenizer, round-tripping text.</summary>
public class SentencePieceTokenizerTests
{
    private static ModelTokenizer Load(TempFolder temp, ModelConfig? config = null)
    {
        temp.Write("tokenizer.model", SentencePieceModelWriter.Build());
        return ModelTokenizer.Load(temp.Path, config ?? TokenizerFixtures.Config(320));
    }

    public static TheoryData<string> Texts() => new(TokenizerFixtures.RoundTripTexts);

    [Theory]
    [MemberData(nameof(Texts))]
    public void RoundTripsText(string text)
    {
        using var temp = new TempFolder();
        var tokenizer = Load(temp);
        Assert.Equal(ModelTokenizer.SentencePieceKind, tokenizer.Kind);
        int[] ids = tokenizer.Encode(text, addBos: false);
        Assert.Equal(text, tokenizer.Decode(ids));
        int[] withBos = tokenizer.Encode(text, addBos: true);
        Assert.Equal(1, withBos[0]);
        Assert.Equal(ids, withBos[1..]);
    }

    [Fact]
    public void UsesPiecesMergesAndByteFallback()
    {
        using var temp = new TempFolder();
        var tokenizer = Load(temp);
        Assert.Equal(SentencePieceModelWriter.FirstPieceId + SentencePieceModelWriter.Pieces.Length, tokenizer.VocabSize);
        Assert.Equal(1, tokenizer.BosId);
        Assert.Equal(2, tokenizer.EosId);
        int hello = SentencePieceModelWriter.FirstPieceId + Array.IndexOf(SentencePieceModelWriter.Pieces, "▁hello");
        int world = SentencePieceModelWriter.FirstPieceId + Array.IndexOf(SentencePieceModelWriter.Pieces, "▁world");
        Assert.Equal(new[] { hello, world }, tokenizer.Encode("hello world", addBos: false));
        int[] emoji = tokenizer.Encode("😀", addBos: false);
        Assert.Equal(new[] { 3 + 0xF0, 3 + 0x9F, 3 + 0x98, 3 + 0x80 }, emoji[^4..]);
        Assert.Equal(" hello", tokenizer.TokenText(hello));
        Assert.Equal("<0xF0>", tokenizer.TokenText(3 + 0xF0));
        Assert.Equal("\n", tokenizer.TokenText(3 + 0x0A));
        Assert.Equal("<s>", tokenizer.TokenText(1));
        Assert.Equal("<s>hello world", tokenizer.Decode(new[] { 1, hello, world }));
    }

    [Fact]
    public void ConfigIdsWinOverTheModelsOwn()
    {
        using var temp = new TempFolder();
        var tokenizer = Load(temp, TokenizerFixtures.Config(320, bos: 2, eos: 1));
        Assert.Equal(2, tokenizer.BosId);
        Assert.Equal(1, tokenizer.EosId);
    }

    [Fact]
    public void PrefersTokenizerModelWhenTokenizerJsonIsNotBpe()
    {
        // A tokenizer.json the engine does not run (here a Unigram model) leaves the choice to tokenizer.model; a
        // byte-level or SentencePiece-style BPE tokenizer.json is preferred (docs/tokenizers.md).
        using var temp = new TempFolder();
        temp.Write("tokenizer.json", "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}, \"pre_tokenizer\": {\"type\": \"Metaspace\"}, \"decoder\": null}");
        var tokenizer = Load(temp);
        Assert.Equal(ModelTokenizer.SentencePieceKind, tokenizer.Kind);
        Assert.EndsWith("tokenizer.model", tokenizer.File);
    }
}
