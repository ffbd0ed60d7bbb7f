using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Formats;

/// <summary>Byte-level BPE tokenizer.json files through <see cref="ModelTokenizer"/>: exact round trips, merges, special tokens.</summary>
public class ByteLevelTokenizerTests
{
    public static TheoryData<string> Texts() => new(TokenizerFixtures.RoundTripTexts);

    [Theory]
    [MemberData(nameof(Texts))]
    public void ByteVocabularyRoundTrips(string text)
    {
        using var temp = new TempFolder();
        ByteLevelVocabulary.WriteTokenizerFiles(temp.Path);
        var tokenizer = ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(ByteLevelVocabulary.Size));
        Assert.Equal(ModelTokenizer.ByteLevelBpeKind, tokenizer.Kind);
        Assert.Equal(ByteLevelVocabulary.Size, tokenizer.VocabSize);
        Assert.Equal(ByteLevelVocabulary.BosId, tokenizer.BosId);
        int[] ids = tokenizer.Encode(text, addBos: false);
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(text).Select(b => (int)b), ids);
        Assert.Equal(text, tokenizer.Decode(ids));
        int[] withBos = tokenizer.Encode(text, addBos: true);
        Assert.Equal(ByteLevelVocabulary.BosId, withBos[0]);
        Assert.Equal(ids, withBos[1..]);
        Assert.Equal("<s>" + text, tokenizer.Decode(withBos));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SmallBpeWithMergesRoundTrips(bool arrayMerges)
    {
        using var temp = new TempFolder();
        temp.Write("tokenizer.json", TokenizerFixtures.SmallBpeJson(arrayMerges));
        var tokenizer = ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(300, bos: 266, eos: 267));
        Assert.Equal(268, tokenizer.VocabSize);
        Assert.Equal(266, tokenizer.BosId);
        Assert.Equal(267, tokenizer.EosId);
        foreach (string text in TokenizerFixtures.RoundTripTexts)
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, addBos: false)));
        int[] ids = tokenizer.Encode("in the world", addBos: true);
        Assert.Equal(new[] { 266, 264, 258, 263 }, ids);
        Assert.Equal(" the", tokenizer.TokenText(258));
        Assert.Equal("<|end|>", tokenizer.TokenText(267));
        Assert.Equal("<0xE2>", tokenizer.TokenText(0xE2));
        Assert.Equal("\n", tokenizer.TokenText(10));
        Assert.Equal(new[] { 266, 258, 267 }, tokenizer.Encode("<|begin|> the<|end|>", addBos: false));
    }

    [Fact]
    public void SplitPatternAndNfcNormalizerAreUsed()
    {
        using var temp = new TempFolder();
        const string split = "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"}, \"behavior\": \"Isolated\", \"invert\": false}";
        temp.Write("tokenizer.json", TokenizerFixtures.SmallBpeJson(arrayMerges: true, extraPreTokenizer: split, normalizer: "{\"type\": \"NFC\"}"));
        var tokenizer = ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(300));
        foreach (string text in TokenizerFixtures.RoundTripTexts)
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, addBos: false)));
        Assert.Equal(new[] { 258, 263 }, tokenizer.Encode(" the world", addBos: false));
        Assert.Equal("é", tokenizer.Decode(tokenizer.Encode("e\u0301", addBos: false)));
    }

    [Fact]
    public void SplitPatternReplacesGpt2Pattern()
    {
        using var temp = new TempFolder();
        const string everyChar = "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\S|\\\\s\"}, \"behavior\": \"Isolated\"}";
        temp.Write("tokenizer.json", TokenizerFixtures.SmallBpeJson(arrayMerges: false, extraPreTokenizer: everyChar));
        var tokenizer = ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(300));
        Assert.Equal(" the world".Length, tokenizer.Encode(" the world", addBos: false).Length);
        Assert.Equal(" the world", tokenizer.Decode(tokenizer.Encode(" the world", addBos: false)));
    }

    [Fact]
    public void BosFromTokenizerConfigWhenConfigHasNone()
    {
        using var temp = new TempFolder();
        temp.Write("tokenizer.json", TokenizerFixtures.SmallBpeJson(arrayMerges: false));
        temp.Write("tokenizer_config.json", "{\"bos_token\": {\"content\": \"<|begin|>\"}, \"eos_token\": \"<|end|>\"}");
        var tokenizer = ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(300));
        Assert.Equal(266, tokenizer.BosId);
        Assert.Equal(267, tokenizer.EosId);
    }

    [Fact]
    public void EncodeWithBosFailsWhenNoneIsKnown()
    {
        using var temp = new TempFolder();
        string path = temp.Write("tokenizer.json", TokenizerFixtures.SmallBpeJson(arrayMerges: false));
        var tokenizer = ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(300));
        Assert.Null(tokenizer.BosId);
        FormatsAssert.Fails(ErrorCodes.TokenizerInvalid, path, () => tokenizer.Encode("x", addBos: true), "beginning-of-sequence");
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode(new[] { 268 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.TokenText(-1));
    }
}
