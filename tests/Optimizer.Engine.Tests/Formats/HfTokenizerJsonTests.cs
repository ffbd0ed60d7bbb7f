using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;

namespace Optimizer.Engine.Tests.Formats;

/// <summary>
/// Small hand-made <c>tokenizer.json</c> files for what the real vocabularies do not isolate (docs/tokenizers.md):
/// <c>ignore_merges</c>, a SentencePiece-style file with byte fallback, <c>rstrip</c> added tokens, the tokenizer_config
/// flags and chat template, and the refusal of a split regex llama.cpp does not know.
/// </summary>
public class HfTokenizerJsonTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IgnoreMergesEmitsAWordOfTheVocabularyAsOneToken(bool ignoreMerges)
    {
        using var temp = new TempFolder();
        // "orld" is in the vocabulary but no merge builds it: merges give "or" + "ld".
        string json = TokenizerFixtures.SmallBpeJson(arrayMerges: false)
            .Replace("\"Ġa\": 265", "\"Ġa\": 265, \"orld\": 268")
            .Replace("\"byte_fallback\": false,", $"\"byte_fallback\": false, \"ignore_merges\": {(ignoreMerges ? "true" : "false")},");
        temp.Write("tokenizer.json", json);
        var tokenizer = ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(300));
        int[] ids = tokenizer.Encode("orld", addBos: false);
        Assert.Equal(ignoreMerges ? new[] { 268 } : new[] { 260, 262 }, ids);
        Assert.Equal("orld", tokenizer.Decode(ids));
        // A word that is not in the vocabulary is merged either way.
        Assert.Equal(new[] { 263 }, tokenizer.Encode(" world", addBos: false));
    }

    [Fact]
    public void RstripAddedTokenTakesTheSpacesAfterIt()
    {
        using var temp = new TempFolder();
        temp.Write("tokenizer.json", TokenizerFixtures.SmallBpeJson(arrayMerges: false)
            .Replace("{\"id\": 267, \"content\": \"<|end|>\", \"special\": true}", "{\"id\": 267, \"content\": \"<|end|>\", \"special\": true, \"rstrip\": true}"));
        var tokenizer = ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(300));
        int[] a = tokenizer.Encode("the", addBos: false), b = tokenizer.Encode("world", addBos: false);
        Assert.Equal(a.Concat(new[] { 267 }).Concat(b), tokenizer.Encode("the<|end|>   world", addBos: false));
        Assert.Equal(a.Concat(new[] { 266 }).Concat(tokenizer.Encode("   world", addBos: false)), tokenizer.Encode("the<|begin|>   world", addBos: false));
    }

    /// <summary>A Llama-2 style SentencePiece BPE tokenizer.json: ▁ prefix, byte fallback, three merges.</summary>
    private static string SentencePieceJson()
    {
        var vocab = new List<string> { "\"<unk>\": 0", "\"<s>\": 1", "\"</s>\": 2" };
        for (int b = 0; b < 256; b++) vocab.Add($"\"<0x{b:X2}>\": {3 + b}");
        vocab.AddRange(new[] { "\"▁\": 259", "\"a\": 260", "\"b\": 261", "\"▁a\": 262", "\"ab\": 263", "\"▁ab\": 264" });
        return "{\"added_tokens\": [" +
               "{\"id\": 0, \"content\": \"<unk>\", \"special\": true}, {\"id\": 1, \"content\": \"<s>\", \"special\": true}, {\"id\": 2, \"content\": \"</s>\", \"special\": true}],\n" +
               "\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", \"prepend\": \"▁\"}, {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"▁\"}]},\n" +
               "\"pre_tokenizer\": null,\n" +
               "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}]},\n" +
               "\"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", \"pattern\": {\"String\": \"▁\"}, \"content\": \" \"}, {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}, {\"type\": \"Strip\", \"content\": \" \", \"start\": 1, \"stop\": 0}]},\n" +
               "\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"fuse_unk\": true, \"byte_fallback\": true,\n" +
               $"  \"vocab\": {{{string.Join(", ", vocab)}}},\n" +
               "  \"merges\": [\"▁ a\", \"a b\", \"▁a b\"]}}\n";
    }

    [Fact]
    public void SentencePieceStyleJsonMergesByRankAndFallsBackToBytes()
    {
        using var temp = new TempFolder();
        temp.Write("tokenizer.json", SentencePieceJson());
        var config = TokenizerFixtures.Config(270);
        var tokenizer = ModelTokenizer.Load(temp.Path, config);
        Assert.Equal(ModelTokenizer.SentencePieceKind, tokenizer.Kind);
        Assert.Equal(1, tokenizer.BosId);
        Assert.True(tokenizer.AddBos);            // from the post-processor's template: <s> before the text
        Assert.False(tokenizer.AddEos);
        // "▁ab▁a": "▁ a" (rank 0) twice, leftmost first, then "▁a b" (rank 2); "a b" (rank 1) never gets its chance.
        Assert.Equal(new[] { 264, 262 }, tokenizer.Encode("ab a", addBos: false));
        // é is not in the vocabulary: its UTF-8 bytes C3 A9 as byte tokens.
        Assert.Equal(new[] { 259, 3 + 0xC3, 3 + 0xA9 }, tokenizer.Encode("é", addBos: false));
        // After a special token the Prepend normalizer puts ▁ before " b" too: "▁▁b".
        Assert.Equal(new[] { 1, 262, 1, 259, 259, 261 }, tokenizer.Encode("a<s> b", addBos: true));
        Assert.Equal("ab a é", tokenizer.Decode(tokenizer.Encode("ab a é", addBos: false)));

        var entries = GgufTokenizerMetadata.ForTokenizer(tokenizer, config).ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal("llama", entries[GgufKeys.TokenizerModel].Value);
        Assert.Equal(true, entries[GgufKeys.AddSpacePrefix].Value);
        Assert.Equal(true, entries[GgufKeys.AddBos].Value);
        var types = entries[GgufKeys.TokenTypes].Array!.As<int>();
        Assert.Equal(new[] { 2, 3, 3, 6 }, types[..4]);
        Assert.Equal(6, types[258]);
        Assert.Equal(1, types[264]);
        Assert.Equal(5, types[269]);            // padding up to vocab_size
        var scores = entries[GgufKeys.Scores].Array!.As<float>();
        Assert.Equal(new[] { 0f, -1f, -2f }, new[] { scores[262], scores[263], scores[264] });
        Assert.True(scores[260] < -2f && scores[259] < -2f);
    }

    [Fact]
    public void TokenizerConfigFlagsAndNamedChatTemplate()
    {
        using var temp = new TempFolder();
        temp.Write("tokenizer.json", TokenizerFixtures.SmallBpeJson(arrayMerges: false));
        temp.Write("tokenizer_config.json", "{\"bos_token\": \"<|begin|>\", \"eos_token\": \"<|end|>\", \"add_bos_token\": false, \"add_eos_token\": true,\n" +
                                            " \"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"}, {\"name\": \"default\", \"template\": \"{{ messages }}\"}]}");
        var config = TokenizerFixtures.Config(300);
        var tokenizer = ModelTokenizer.Load(temp.Path, config);
        Assert.Equal((266, 267), (tokenizer.BosId!.Value, tokenizer.EosId!.Value));
        Assert.Equal((false, true), (tokenizer.AddBos!.Value, tokenizer.AddEos!.Value));
        Assert.Equal("{{ messages }}", tokenizer.ChatTemplate);
        Assert.Equal(267, tokenizer.EotId);      // <|end|> (Phi-3's end of turn)
        var entries = GgufTokenizerMetadata.ForTokenizer(tokenizer, config).ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal(false, entries[GgufKeys.AddBos].Value);
        Assert.Equal(true, entries[GgufKeys.AddEos].Value);
        Assert.Equal("{{ messages }}", entries[GgufKeys.ChatTemplate].Value);
        Assert.Equal("gpt-2", entries[GgufKeys.TokenizerPre].Value);
        Assert.Equal(267u, entries[GgufKeys.EotId].Value);
    }

    [Fact]
    public void ASplitRegexLlamaCppDoesNotKnowIsRefusedForGguf()
    {
        using var temp = new TempFolder();
        string path = temp.Write("tokenizer.json", TokenizerFixtures.SmallBpeJson(arrayMerges: false,
            extraPreTokenizer: "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\S|\\\\s\"}, \"behavior\": \"Isolated\"}"));
        var config = TokenizerFixtures.Config(300);
        var tokenizer = ModelTokenizer.Load(temp.Path, config);
        Assert.Equal(new[] { (int)'t', 'h', 'e' }, tokenizer.Encode("the", addBos: false)); // the engine still runs it
        var ex = FormatsAssert.Fails(ErrorCodes.GgufTokenizerUnsupported, path, () => GgufTokenizerMetadata.ForTokenizer(tokenizer, config), "\\S|\\s", "llama-bpe");
        Assert.Contains("llama.cpp", ex.Message);
    }

    [Fact]
    public void MutatedTokenizerJsonLoadsOrFailsWithTokenizerInvalid()
    {
        using var temp = new TempFolder();
        string valid = SentencePieceJson();
        var random = new Random(11);
        const string alphabet = "{}[]\",:0123456789 abnulltrue▁<>";
        int loaded = 0;
        for (int i = 0; i < 300; i++)
        {
            var chars = valid.ToCharArray();
            int edits = 1 + random.Next(3);
            for (int e = 0; e < edits; e++) chars[random.Next(chars.Length)] = alphabet[random.Next(alphabet.Length)];
            string path = temp.Write("tokenizer.json", new string(chars));
            try
            {
                var tokenizer = ModelTokenizer.Load(temp.Path, TokenizerFixtures.Config(270));
                tokenizer.Decode(tokenizer.Encode("ab a é", addBos: false));
                loaded++;
            }
            catch (OptimizerException ex)
            {
                Assert.True(ex.Code is ErrorCodes.TokenizerInvalid, ex.Code + ": " + ex.Message);
                Assert.Equal(path, ex.File);
            }
        }
        Assert.InRange(loaded, 1, 299);
    }
}
