using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Formats;

/// <summary>Configs and tokenizer files for tokenizer tests.</summary>
internal static class TokenizerFixtures
{
    public static readonly string[] RoundTripTexts =
    {
        "It is a truth universally acknowledged",
        "  two leading spaces, trailing  ",
        "line one\nline two\r\n\tindented\n\n",
        "Ünïcödé — 中文 текст ąę",
        "emoji 😀👍🏽 and a ZWJ family 👨‍👩‍👧",
        "the hello world and the world",
        "",
        " ",
    };

    public static ModelConfig Config(int vocabSize, int? bos = null, int? eos = null)
    {
        var config = new ModelConfig
        {
            ModelType = "llama", VocabSize = vocabSize, HiddenSize = 8, IntermediateSize = 16, NumHiddenLayers = 1,
            NumAttentionHeads = 2, BosTokenId = bos,
        };
        if (eos is int e) config.EosTokenIdRaw = System.Text.Json.JsonDocument.Parse(e.ToString(System.Globalization.CultureInfo.InvariantCulture)).RootElement.Clone();
        return config;
    }

    /// <summary>A byte-level BPE tokenizer.json with a few merges, in the "a b" or the ["a", "b"] form.</summary>
    public static string SmallBpeJson(bool arrayMerges, string extraPreTokenizer = "", string normalizer = "null")
    {
        var tokens = ByteLevelVocabulary.Tokens();
        var vocab = new List<string>();
        for (int b = 0; b < 256; b++) vocab.Add($"\"{Escape(tokens[b])}\": {b}");
        string[] merged = { "Ġt", "he", "Ġthe", "Ġw", "or", "Ġwor", "ld", "Ġworld", "in", "Ġa" };
        (string, string)[] merges = { ("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("Ġ", "w"), ("o", "r"), ("Ġw", "or"), ("l", "d"), ("Ġwor", "ld"), ("i", "n"), ("Ġ", "a") };
        for (int i = 0; i < merged.Length; i++) vocab.Add($"\"{merged[i]}\": {256 + i}");
        string mergeList = string.Join(", ", merges.Select(m => arrayMerges ? $"[\"{m.Item1}\", \"{m.Item2}\"]" : $"\"{m.Item1} {m.Item2}\""));
        string preTokenizer = extraPreTokenizer.Length > 0
            ? $"{{\"type\": \"Sequence\", \"pretokenizers\": [{extraPreTokenizer}, {{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": false}}]}}"
            : "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}";
        return "{\n  \"version\": \"1.0\",\n" +
               "  \"added_tokens\": [\n" +
               "    {\"id\": 266, \"content\": \"<|begin|>\", \"special\": true},\n" +
               "    {\"id\": 267, \"content\": \"<|end|>\", \"special\": true}\n  ],\n" +
               $"  \"normalizer\": {normalizer},\n" +
               $"  \"pre_tokenizer\": {preTokenizer},\n" +
               "  \"decoder\": {\"type\": \"ByteLevel\"},\n" +
               "  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"continuing_subword_prefix\": null,\n" +
               "    \"end_of_word_suffix\": null, \"fuse_unk\": false, \"byte_fallback\": false,\n" +
               $"    \"vocab\": {{{string.Join(", ", vocab)}}},\n" +
               $"    \"merges\": [{mergeList}]\n  }}\n}}\n";
    }

    private static string Escape(string token) => token switch
    {
        "\"" => "\\\"",
        "\\" => "\\\\",
        _ => token,
    };
}
