using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Formats;

/// <summary>Missing and malformed tokenizer files fail with the right code, naming the file (and line/column for JSON).</summary>
public class TokenizerRejectionTests
{
    [Fact]
    public void NoTokenizerFiles()
    {
        using var temp = new TempFolder();
        FormatsAssert.Fails(ErrorCodes.TokenizerMissing, temp.Path, () => ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(300)), "tokenizer.json", "tokenizer.model");
    }

    [Fact]
    public void TokenizerJsonSyntaxErrorHasLineAndColumn()
    {
        using var temp = new TempFolder();
        string path = temp.Write("tokenizer.json", "{\n  \"model\": {\n    \"vocab\": {\"a\": 0,}\n    \"merges\" []\n  }\n}\n");
        var ex = FormatsAssert.Fails(ErrorCodes.TokenizerInvalid, path, () => ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(300)), "not valid JSON");
        Assert.Equal(3, ex.Line);
        Assert.True(ex.Column > 0);
    }

    [Fact]
    public void TokenizerJsonNotByteLevelWithoutAlternative()
    {
        using var temp = new TempFolder();
        string path = temp.Write("tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}, \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}}");
        FormatsAssert.Fails(ErrorCodes.TokenizerInvalid, path, () => ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(300)), "WordPiece");
    }

    [Fact]
    public void MalformedMerge()
    {
        using var temp = new TempFolder();
        string path = temp.Write("tokenizer.json", TokenizerFixtures.SmallBpeJson(arrayMerges: false).Replace("\"Ġ t\"", "\"Ġ t x\""));
        FormatsAssert.Fails(ErrorCodes.TokenizerInvalid, path, () => ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(300)), "model.merges[0]");
    }

    [Fact]
    public void VocabularyMissingAByte()
    {
        using var temp = new TempFolder();
        string path = temp.Write("tokenizer.json", TokenizerFixtures.SmallBpeJson(arrayMerges: false).Replace("\"A\": 65, ", ""));
        FormatsAssert.Fails(ErrorCodes.TokenizerInvalid, path, () => ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(300)), "0x41");
    }

    [Fact]
    public void TokenizerLargerThanTheModelVocabulary()
    {
        using var temp = new TempFolder();
        string path = temp.Write("tokenizer.json", TokenizerFixtures.SmallBpeJson(arrayMerges: false));
        FormatsAssert.Fails(ErrorCodes.TokenizerInvalid, path, () => ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(260)), "267", "260");
    }

    [Fact]
    public void BosTokenOfTokenizerConfigUnknown()
    {
        using var temp = new TempFolder();
        temp.Write("tokenizer.json", TokenizerFixtures.SmallBpeJson(arrayMerges: false));
        string config = temp.Write("tokenizer_config.json", "{\"bos_token\": \"<nope>\"}");
        FormatsAssert.Fails(ErrorCodes.TokenizerInvalid, config, () => ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(300)), "<nope>");
    }

    [Fact]
    public void TokenizerModelNotProtobuf()
    {
        using var temp = new TempFolder();
        string path = temp.Write("tokenizer.model", new byte[] { 0, 1, 2, 3, 4, 5 });
        FormatsAssert.Fails(ErrorCodes.TokenizerInvalid, path, () => ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(300)), "tokenizer.model");
    }

    [Fact]
    public void TokenizerModelEmptyTruncatedOrMutated()
    {
        using var temp = new TempFolder();
        string path = temp.Write("tokenizer.model", Array.Empty<byte>());
        FormatsAssert.Fails(ErrorCodes.TokenizerInvalid, path, () => ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(300)), "empty");
        byte[] valid = SentencePieceModelWriter.Build();
        var random = new Random(5);
        for (int i = 0; i < 300; i++)
        {
            byte[] mutated = valid[..random.Next(1, valid.Length + 1)];
            if (i % 2 == 1) mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            temp.Write("tokenizer.model", mutated);
            try
            {
                var tokenizer = ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(400));
                tokenizer.Decode(tokenizer.Encode("hello world", addBos: true));
            }
            catch (OptimizerException ex)
            {
                Assert.Equal(path, ex.File);
                Assert.True(ex.Code is ErrorCodes.TokenizerInvalid, ex.Code + ": " + ex.Message);
            }
        }
    }
}
