using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Optimizer.Engine.Formats;

/// <summary>
/// Builds a byte-level BPE tokenizer (GPT-2, Llama 3, Qwen2 style) from a Hugging Face <c>tokenizer.json</c>:
/// <c>model.vocab</c>, <c>model.merges</c> (as <c>"a b"</c> strings or <c>["a", "b"]</c> pairs) and
/// <c>added_tokens</c>, run by Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> with byte-level mapping and a
/// regex pre-tokenizer (the file's <c>Split</c> pattern, else GPT-2's), which round-trips any text exactly.
/// </summary>
internal static class ByteLevelBpeLoader
{
    /// <summary>The Hugging Face tokenizer file name.</summary>
    public const string FileName = "tokenizer.json";

    /// <summary>GPT-2's pre-tokenization pattern.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>
    /// Loads <paramref name="path"/>. When the file is valid JSON but not byte-level BPE, returns null if
    /// <paramref name="allowOther"/> (another tokenizer file can be used instead), else fails.
    /// </summary>
    public static LoadedTokenizer? Load(string path, bool allowOther)
    {
        using var document = JsonFile.Parse(path, ErrorCodes.TokenizerInvalid, "tokenizer.json");
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw Invalid("tokenizer.json has no \"model\" object.", path);
        string modelType = JsonFile.GetString(model, "type") ?? "BPE";
        root.TryGetProperty("pre_tokenizer", out var preTokenizer);
        root.TryGetProperty("decoder", out var decoder);
        bool byteLevel = HasByteLevel(preTokenizer) || HasByteLevel(decoder);
        if (modelType != "BPE" || !byteLevel)
        {
            if (allowOther) return null;
            throw Invalid($"tokenizer.json describes a \"{modelType}\" model {(byteLevel ? "" : "without byte-level pre-tokenization ")}which is not supported; " +
                          "only byte-level BPE is (a SentencePiece model can be given as tokenizer.model).", path);
        }
        CheckUnsupported(model, preTokenizer, path);

        var vocab = ReadVocab(model, path);
        var merges = ReadMerges(model, path);
        var special = ReadAddedTokens(root, vocab, path);
        string pattern = FindSplitPattern(preTokenizer) ?? Gpt2Pattern;
        return FromParts(path, vocab, merges, special, pattern, CreateNormalizer(root, path));
    }

    /// <summary>
    /// Builds the tokenizer from its parts (e.g. read from GGUF metadata): byte-level <paramref name="vocab"/>,
    /// <paramref name="merges"/> as <c>"a b"</c>, special tokens and the pre-tokenizer split pattern.
    /// </summary>
    internal static LoadedTokenizer FromParts(string path, Dictionary<string, int> vocab, List<string> merges,
        Dictionary<string, int> special, string pattern, Normalizer? normalizer)
    {
        var byteToChar = ByteLevelVocabulary.ByteToUnicode();
        for (int b = 0; b < 256; b++)
        {
            if (!vocab.ContainsKey(byteToChar[b].ToString()))
                throw Invalid($"The byte-level vocabulary has no token for byte 0x{b:X2} (\"{byteToChar[b]}\"), so some text could not be encoded.", path);
        }

        BpeTokenizer tokenizer;
        try
        {
            var regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(10));
            tokenizer = BpeTokenizer.Create(new BpeOptions(vocab)
            {
                Merges = merges,
                ByteLevel = true,
                PreTokenizer = new RegexPreTokenizer(regex, special),
                SpecialTokens = special,
                Normalizer = normalizer,
            });
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new OptimizerException(ErrorCodes.TokenizerInvalid, $"tokenizer.json cannot be used: {ex.Message}", path, inner: ex);
        }

        var ids = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        foreach (var (content, id) in special) ids[content] = id;
        var texts = new string?[ids.Values.Max() + 1];
        var charToByte = new Dictionary<char, byte>();
        for (int b = 0; b < 256; b++) charToByte[byteToChar[b]] = (byte)b;
        foreach (var (token, id) in vocab) texts[id] = TokenText(token, charToByte);
        foreach (var (content, id) in special) texts[id] = content;
        return new LoadedTokenizer(ModelTokenizer.ByteLevelBpeKind, path,
            text => tokenizer.EncodeToIds(text).ToArray(),
            list => tokenizer.Decode(list),
            texts, ids, null, null);
    }

    private static bool HasByteLevel(JsonElement component)
    {
        if (component.ValueKind != JsonValueKind.Object) return false;
        string? type = JsonFile.GetString(component, "type");
        if (type == "ByteLevel") return true;
        if (type == "Sequence")
        {
            foreach (string key in new[] { "pretokenizers", "decoders" })
            {
                if (component.TryGetProperty(key, out var items) && items.ValueKind == JsonValueKind.Array && items.EnumerateArray().Any(HasByteLevel))
                    return true;
            }
        }
        return false;
    }

    private static string? FindSplitPattern(JsonElement preTokenizer)
    {
        if (preTokenizer.ValueKind != JsonValueKind.Object) return null;
        if (JsonFile.GetString(preTokenizer, "type") == "Split"
            && preTokenizer.TryGetProperty("pattern", out var pattern)
            && JsonFile.GetString(pattern, "Regex") is string regex)
            return regex;
        if (preTokenizer.TryGetProperty("pretokenizers", out var items) && items.ValueKind == JsonValueKind.Array)
            return items.EnumerateArray().Select(FindSplitPattern).FirstOrDefault(p => p is not null);
        return null;
    }

    private static void CheckUnsupported(JsonElement model, JsonElement preTokenizer, string path)
    {
        foreach (string key in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (JsonFile.GetString(model, key) is { Length: > 0 } value)
                throw Invalid($"tokenizer.json model.{key} \"{value}\" is not supported for byte-level BPE.", path);
        }
        if (FindAddPrefixSpace(preTokenizer))
            throw Invalid("tokenizer.json's ByteLevel pre-tokenizer has \"add_prefix_space\": true, which is not supported.", path);
    }

    private static bool FindAddPrefixSpace(JsonElement component)
    {
        if (component.ValueKind != JsonValueKind.Object) return false;
        if (JsonFile.GetString(component, "type") == "ByteLevel")
            return component.TryGetProperty("add_prefix_space", out var v) && v.ValueKind == JsonValueKind.True;
        return component.TryGetProperty("pretokenizers", out var items) && items.ValueKind == JsonValueKind.Array
            && items.EnumerateArray().Any(FindAddPrefixSpace);
    }

    private static Normalizer? CreateNormalizer(JsonElement root, string path)
    {
        if (!root.TryGetProperty("normalizer", out var normalizer) || normalizer.ValueKind == JsonValueKind.Null) return null;
        string? type = JsonFile.GetString(normalizer, "type");
        if (type == "NFC") return new UnicodeFormNormalizer(System.Text.NormalizationForm.FormC);
        throw Invalid($"tokenizer.json normalizer \"{type ?? normalizer.GetRawText()}\" is not supported (only none or NFC).", path);
    }

    private static Dictionary<string, int> ReadVocab(JsonElement model, string path)
    {
        if (!model.TryGetProperty("vocab", out var vocabElement) || vocabElement.ValueKind != JsonValueKind.Object)
            throw Invalid("tokenizer.json has no \"model.vocab\" object.", path);
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var owners = new Dictionary<int, string>();
        foreach (var entry in vocabElement.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw Invalid($"model.vocab token \"{entry.Name}\" must have a non-negative integer id, not {entry.Value.GetRawText()}.", path);
            if (!vocab.TryAdd(entry.Name, id))
                throw Invalid($"model.vocab lists token \"{entry.Name}\" twice.", path);
            if (!owners.TryAdd(id, entry.Name))
                throw Invalid($"model.vocab gives id {id} to both \"{owners[id]}\" and \"{entry.Name}\".", path);
        }
        return vocab;
    }

    private static List<string> ReadMerges(JsonElement model, string path)
    {
        var merges = new List<string>();
        if (!model.TryGetProperty("merges", out var mergesElement) || mergesElement.ValueKind == JsonValueKind.Null) return merges;
        if (mergesElement.ValueKind != JsonValueKind.Array) throw Invalid("model.merges must be an array.", path);
        int index = 0;
        foreach (var merge in mergesElement.EnumerateArray())
        {
            string? left = null, right = null;
            if (merge.ValueKind == JsonValueKind.String)
            {
                string[] parts = merge.GetString()!.Split(' ');
                if (parts.Length == 2) (left, right) = (parts[0], parts[1]);
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                     && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                (left, right) = (merge[0].GetString(), merge[1].GetString());
            }
            if (string.IsNullOrEmpty(left) || string.IsNullOrEmpty(right) || left.Contains(' ') || right.Contains(' '))
                throw Invalid($"model.merges[{index}] ({merge.GetRawText()}) must be \"a b\" or [\"a\", \"b\"] with two non-empty tokens without spaces.", path);
            merges.Add(left + " " + right);
            index++;
        }
        return merges;
    }

    private static Dictionary<string, int> ReadAddedTokens(JsonElement root, Dictionary<string, int> vocab, string path)
    {
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!root.TryGetProperty("added_tokens", out var added) || added.ValueKind == JsonValueKind.Null) return special;
        if (added.ValueKind != JsonValueKind.Array) throw Invalid("\"added_tokens\" must be an array.", path);
        var vocabById = vocab.ToDictionary(kv => kv.Value, kv => kv.Key);
        var usedIds = new HashSet<int>();
        foreach (var token in added.EnumerateArray())
        {
            string? content = JsonFile.GetString(token, "content");
            if (content is not { Length: > 0 } || !token.TryGetProperty("id", out var idElement) || !idElement.TryGetInt32(out int id) || id < 0)
                throw Invalid($"\"added_tokens\" entry {token.GetRawText()} needs a non-empty \"content\" and a non-negative \"id\".", path);
            if (vocabById.TryGetValue(id, out string? existing) && existing != content)
                throw Invalid($"Added token \"{content}\" has id {id}, which model.vocab gives to \"{existing}\".", path);
            if (vocab.TryGetValue(content, out int vocabId) && vocabId != id)
                throw Invalid($"Added token \"{content}\" has id {id}, but model.vocab gives it id {vocabId}.", path);
            if (!special.TryAdd(content, id) || !usedIds.Add(id))
                throw Invalid($"\"added_tokens\" lists \"{content}\" or id {id} twice.", path);
        }
        return special;
    }

    private static string TokenText(string token, Dictionary<char, byte> charToByte)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            if (!charToByte.TryGetValue(token[i], out bytes[i])) return token;
        }
        return ModelTokenizer.RenderBytes(bytes);
    }

    private static OptimizerException Invalid(string message, string path) => new(ErrorCodes.TokenizerInvalid, message, path);
}
