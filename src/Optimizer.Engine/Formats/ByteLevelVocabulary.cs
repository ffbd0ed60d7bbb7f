using System.Text;
using System.Text.Json;

namespace Optimizer.Engine.Formats;

/// <summary>
/// The smallest real tokenizer: one token per byte (ids 0–255, spelled with GPT-2's byte-to-unicode alphabet) plus
/// <c>&lt;s&gt;</c> (id 256) as beginning of sequence. Written as a Hugging Face <c>tokenizer.json</c> (byte-level BPE
/// with no merges), which Microsoft.ML.Tokenizers and llama.cpp (as <c>gpt2</c> with an empty merge list) both accept.
/// </summary>
public static class ByteLevelVocabulary
{
    public const int ByteTokens = 256;
    public const int BosId = 256;
    public const string BosToken = "<s>";
    public const int Size = 257;

    /// <summary>GPT-2's reversible map from bytes to printable unicode characters.</summary>
    public static char[] ByteToUnicode()
    {
        var map = new char[256];
        var printable = new bool[256];
        for (int b = '!'; b <= '~'; b++) printable[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) printable[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) printable[b] = true;
        int next = 256;
        for (int b = 0; b < 256; b++) map[b] = printable[b] ? (char)b : (char)next++;
        return map;
    }

    /// <summary>The token strings in id order (bytes, then <c>&lt;s&gt;</c>).</summary>
    public static string[] Tokens()
    {
        var map = ByteToUnicode();
        var tokens = new string[Size];
        for (int b = 0; b < ByteTokens; b++) tokens[b] = map[b].ToString();
        tokens[BosId] = BosToken;
        return tokens;
    }

    /// <summary>Writes <c>tokenizer.json</c> and <c>tokenizer_config.json</c> into <paramref name="folder"/>.</summary>
    public static void WriteTokenizerFiles(string folder)
    {
        AtomicFile.WriteText(Path.Combine(folder, "tokenizer.json"), TokenizerJson());
        AtomicFile.WriteText(Path.Combine(folder, "tokenizer_config.json"), TokenizerConfigJson());
    }

    public static string TokenizerJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            w.WriteStartObject();
            w.WriteNumber("id", BosId);
            w.WriteString("content", BosToken);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("normalized", false);
            w.WriteBoolean("special", true);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteNull("normalizer");
            w.WriteStartObject("pre_tokenizer");
            w.WriteString("type", "ByteLevel");
            w.WriteBoolean("add_prefix_space", false);
            w.WriteBoolean("trim_offsets", true);
            w.WriteBoolean("use_regex", true);
            w.WriteEndObject();
            w.WriteStartObject("post_processor");
            w.WriteString("type", "TemplateProcessing");
            w.WriteStartArray("single");
            WriteSpecial(w, BosToken);
            WriteSequence(w, "A");
            w.WriteEndArray();
            w.WriteStartArray("pair");
            WriteSpecial(w, BosToken);
            WriteSequence(w, "A");
            WriteSequence(w, "B");
            w.WriteEndArray();
            w.WriteStartObject("special_tokens");
            w.WriteStartObject(BosToken);
            w.WriteString("id", BosToken);
            w.WriteStartArray("ids");
            w.WriteNumberValue(BosId);
            w.WriteEndArray();
            w.WriteStartArray("tokens");
            w.WriteStringValue(BosToken);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject("decoder");
            w.WriteString("type", "ByteLevel");
            w.WriteBoolean("add_prefix_space", false);
            w.WriteBoolean("trim_offsets", true);
            w.WriteBoolean("use_regex", true);
            w.WriteEndObject();
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteNull("unk_token");
            w.WriteNull("continuing_subword_prefix");
            w.WriteNull("end_of_word_suffix");
            w.WriteBoolean("fuse_unk", false);
            w.WriteBoolean("byte_fallback", false);
            w.WriteBoolean("ignore_merges", false);
            w.WriteStartObject("vocab");
            string[] tokens = Tokens();
            for (int id = 0; id < ByteTokens; id++) w.WriteNumber(tokens[id], id);
            w.WriteEndObject();
            w.WriteStartArray("merges");
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    public static string TokenizerConfigJson() =>
        "{\n" +
        "  \"add_bos_token\": true,\n" +
        "  \"add_eos_token\": false,\n" +
        $"  \"bos_token\": \"{BosToken}\",\n" +
        "  \"clean_up_tokenization_spaces\": false,\n" +
        "  \"model_max_length\": 1000000000,\n" +
        "  \"tokenizer_class\": \"PreTrainedTokenizerFast\"\n" +
        "}\n";

    private static void WriteSpecial(Utf8JsonWriter w, string id)
    {
        w.WriteStartObject();
        w.WriteStartObject("SpecialToken");
        w.WriteString("id", id);
        w.WriteNumber("type_id", 0);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteSequence(Utf8JsonWriter w, string id)
    {
        w.WriteStartObject();
        w.WriteStartObject("Sequence");
        w.WriteString("id", id);
        w.WriteNumber("type_id", 0);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
