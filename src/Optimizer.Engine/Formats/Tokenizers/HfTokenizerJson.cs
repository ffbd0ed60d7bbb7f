using System.Text.Json;
using System.Text.RegularExpressions;

namespace Optimizer.Engine.Formats.Tokenizers;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> with a BPE model, read into the parts the engine runs and the GGUF writer
/// converts (docs/tokenizers.md): byte-level BPE (GPT-2, Llama 3, Qwen2/3: a <c>ByteLevel</c> pre-tokenizer or decoder)
/// or SentencePiece-style BPE (Llama 2, Mistral, Gemma: <c>▁</c> for spaces, <c>&lt;0xXX&gt;</c> byte fallback).
/// </summary>
internal sealed class HfTokenizerJson
{
    /// <summary>The SentencePiece space marker.</summary>
    public const string SpaceMarker = "\u2581";

    public required string Path { get; init; }
    public required bool ByteLevel { get; init; }
    public required Dictionary<string, int> Vocab { get; init; }
    public required List<(string Left, string Right)> Merges { get; init; }
    public required List<AddedToken> Added { get; init; }
    public required bool IgnoreMerges { get; init; }
    public required bool ByteFallback { get; init; }
    public required bool FuseUnk { get; init; }
    public required int? UnkId { get; init; }

    /// <summary>
    /// The regex a byte-level tokenizer splits text with (its first <c>Split</c> regex, else GPT-2's when the
    /// <c>ByteLevel</c> step splits, else empty: no split); null for SentencePiece style.
    /// </summary>
    public required string? SplitPattern { get; init; }

    public required List<NormalizerStep> Normalizers { get; init; }
    public required List<PreTokenizerStep> PreTokenizers { get; init; }

    /// <summary>A SentencePiece-style tokenizer that puts <c>▁</c> before the text (Llama 2's "add dummy prefix").</summary>
    public required bool AddsSpacePrefix { get; init; }

    /// <summary>How many leading spaces the decoder strips (Llama 2: one, the dummy prefix).</summary>
    public required int DecoderStripsLeading { get; init; }

    /// <summary>Whether the post-processor has a <c>TemplateProcessing</c> step (which says what goes around a text).</summary>
    public required bool HasTemplate { get; init; }

    /// <summary>The special token the post-processor puts before a single text (e.g. BOS), if any.</summary>
    public required string? TemplateLeadingSpecial { get; init; }

    /// <summary>The special token the post-processor puts after a single text (e.g. EOS), if any.</summary>
    public required string? TemplateTrailingSpecial { get; init; }

    /// <summary>
    /// Reads <paramref name="path"/>. A BPE tokenizer of neither style gives null when <paramref name="allowOther"/>
    /// (another tokenizer file can be used instead), else fails with <see cref="ErrorCodes.TokenizerInvalid"/>.
    /// </summary>
    public static HfTokenizerJson? Parse(string path, bool allowOther)
    {
        using var document = JsonFile.Parse(path, ErrorCodes.TokenizerInvalid, "tokenizer.json");
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw Invalid("tokenizer.json has no \"model\" object.", path);
        string modelType = JsonFile.GetString(model, "type") ?? "BPE";
        var pre = Get(root, "pre_tokenizer");
        var decoder = Get(root, "decoder");
        var normalizer = Get(root, "normalizer");
        bool byteLevel = Has(pre, "ByteLevel") || Has(decoder, "ByteLevel");
        bool byteFallback = model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True;
        bool sentencePiece = !byteLevel && (byteFallback || Has(pre, "Metaspace") || Has(decoder, "Metaspace") || Has(decoder, "ByteFallback"));
        if (modelType != "BPE" || (!byteLevel && !sentencePiece))
        {
            if (allowOther) return null;
            throw Invalid($"tokenizer.json describes a \"{modelType}\" model {(modelType == "BPE" ? "that is neither byte-level nor SentencePiece-style " : "")}which is not supported; " +
                          "byte-level BPE and SentencePiece-style BPE are (a SentencePiece model can also be given as tokenizer.model).", path);
        }
        foreach (string key in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (JsonFile.GetString(model, key) is { Length: > 0 } value)
                throw Invalid($"tokenizer.json model.{key} \"{value}\" is not supported.", path);
        }
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            throw Invalid("tokenizer.json model.dropout is set; a tokenizer with BPE dropout is not deterministic and is not supported.", path);

        var vocab = ReadVocab(model, path);
        var merges = ReadMerges(model, path);
        var added = ReadAddedTokens(root, vocab, path);
        int? unkId = null;
        if (JsonFile.GetString(model, "unk_token") is string unk)
        {
            if (vocab.TryGetValue(unk, out int u)) unkId = u;
            else if (added.FirstOrDefault(a => a.Content == unk) is { } a) unkId = a.Id;
            else throw Invalid($"model.unk_token \"{unk}\" is not a token.", path);
        }

        var normalizers = new List<NormalizerStep>();
        ReadNormalizer(normalizer, normalizers, path);
        var preSteps = new List<PreTokenizerStep>();
        string? splitPattern = null;
        ReadPreTokenizer(pre, preSteps, ref splitPattern, path);
        bool prefix = normalizers.Any(n => n is NormalizerStep.Prepend { Prefix: SpaceMarker })
                      || preSteps.Any(p => p is PreTokenizerStep.Metaspace { PrependScheme: "always" or "first" });
        if (byteLevel)
        {
            if (!preSteps.Any(p => p is PreTokenizerStep.ByteLevel))
                throw Invalid("tokenizer.json has a ByteLevel decoder but no ByteLevel pre-tokenizer, which is not supported.", path);
            // No regex split at all (ByteLevel without use_regex, no Split regex): the text is not split, which no
            // llama.cpp pre-tokenizer does; an empty pattern says so (and is refused for GGUF).
            splitPattern ??= string.Empty;
        }
        else
        {
            splitPattern = null;
            if (preSteps.Any(p => p is PreTokenizerStep.Split)
                && !(preSteps.Count == 1 && preSteps[0] is PreTokenizerStep.Split s && s.Pattern.ToString() == Regex.Escape(" ")
                     && normalizers.Any(n => n is NormalizerStep.Replace { Pattern: " " })))
                throw Invalid("tokenizer.json splits a SentencePiece-style text with a pre-tokenizer, which is not supported.", path);
        }
        var (hasTemplate, leading, trailing) = ReadTemplate(Get(root, "post_processor"));
        return new HfTokenizerJson
        {
            Path = path,
            ByteLevel = byteLevel,
            Vocab = vocab,
            Merges = merges,
            Added = added,
            IgnoreMerges = model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True,
            ByteFallback = byteFallback,
            FuseUnk = model.TryGetProperty("fuse_unk", out var fu) && fu.ValueKind == JsonValueKind.True,
            UnkId = unkId,
            SplitPattern = splitPattern,
            Normalizers = normalizers,
            PreTokenizers = preSteps,
            AddsSpacePrefix = !byteLevel && prefix,
            DecoderStripsLeading = ReadStrip(decoder),
            HasTemplate = hasTemplate,
            TemplateLeadingSpecial = leading,
            TemplateTrailingSpecial = trailing,
        };
    }

    private static JsonElement Get(JsonElement root, string key) =>
        root.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.Object ? value : default;

    /// <summary>Whether <paramref name="component"/> or one of its <c>Sequence</c> members has type <paramref name="type"/>.</summary>
    private static bool Has(JsonElement component, string type)
    {
        if (component.ValueKind != JsonValueKind.Object) return false;
        if (JsonFile.GetString(component, "type") == type) return true;
        foreach (string key in new[] { "pretokenizers", "decoders", "normalizers" })
        {
            if (component.TryGetProperty(key, out var items) && items.ValueKind == JsonValueKind.Array && items.EnumerateArray().Any(i => Has(i, type)))
                return true;
        }
        return false;
    }

    private static void ReadNormalizer(JsonElement n, List<NormalizerStep> steps, string path)
    {
        if (n.ValueKind != JsonValueKind.Object) return;
        string? type = JsonFile.GetString(n, "type");
        switch (type)
        {
            case "Sequence":
                if (n.TryGetProperty("normalizers", out var items) && items.ValueKind == JsonValueKind.Array)
                {
                    foreach (var item in items.EnumerateArray()) ReadNormalizer(item, steps, path);
                }
                return;
            case "NFC":
                steps.Add(new NormalizerStep.Nfc());
                return;
            case "Prepend":
                steps.Add(new NormalizerStep.Prepend(JsonFile.GetString(n, "prepend") ?? throw Invalid("The Prepend normalizer has no \"prepend\".", path)));
                return;
            case "Replace":
                if (n.TryGetProperty("pattern", out var p) && JsonFile.GetString(p, "String") is string literal && JsonFile.GetString(n, "content") is string content)
                {
                    steps.Add(new NormalizerStep.Replace(literal, content));
                    return;
                }
                throw Invalid($"tokenizer.json Replace normalizer {n.GetRawText()} is not supported (only a literal \"String\" pattern).", path);
            default:
                throw Invalid($"tokenizer.json normalizer \"{type ?? n.GetRawText()}\" is not supported (only NFC, Replace, Prepend and Sequence).", path);
        }
    }

    private static void ReadPreTokenizer(JsonElement p, List<PreTokenizerStep> steps, ref string? splitPattern, string path)
    {
        if (p.ValueKind != JsonValueKind.Object) return;
        string? type = JsonFile.GetString(p, "type");
        switch (type)
        {
            case "Sequence":
                if (p.TryGetProperty("pretokenizers", out var items) && items.ValueKind == JsonValueKind.Array)
                {
                    foreach (var item in items.EnumerateArray()) ReadPreTokenizer(item, steps, ref splitPattern, path);
                }
                return;
            case "Split":
            {
                if (p.TryGetProperty("invert", out var invert) && invert.ValueKind == JsonValueKind.True)
                    throw Invalid("tokenizer.json Split pre-tokenizer with \"invert\": true is not supported.", path);
                string behaviorText = JsonFile.GetString(p, "behavior") ?? "Isolated";
                if (!Enum.TryParse(behaviorText, out SplitBehavior behavior))
                    throw Invalid($"tokenizer.json Split behavior \"{behaviorText}\" is not supported.", path);
                p.TryGetProperty("pattern", out var pattern);
                string regex;
                if (JsonFile.GetString(pattern, "Regex") is string r)
                {
                    regex = r;
                    splitPattern ??= r;
                }
                else if (JsonFile.GetString(pattern, "String") is string s) regex = Regex.Escape(s);
                else throw Invalid($"tokenizer.json Split pattern {p.GetRawText()} has neither \"Regex\" nor \"String\".", path);
                steps.Add(new PreTokenizerStep.Split(Compile(regex, path), behavior));
                return;
            }
            case "ByteLevel":
                if (p.TryGetProperty("add_prefix_space", out var aps) && aps.ValueKind == JsonValueKind.True)
                    throw Invalid("tokenizer.json's ByteLevel pre-tokenizer has \"add_prefix_space\": true, which is not supported.", path);
                bool useRegex = !p.TryGetProperty("use_regex", out var ur) || ur.ValueKind != JsonValueKind.False;
                if (useRegex) splitPattern ??= ByteLevelBpeLoader.Gpt2Pattern;
                steps.Add(new PreTokenizerStep.ByteLevel(useRegex ? Compile(ByteLevelBpeLoader.Gpt2Pattern, path) : null));
                return;
            case "Metaspace":
                if (p.TryGetProperty("split", out var split) && split.ValueKind == JsonValueKind.True)
                    throw Invalid("tokenizer.json Metaspace pre-tokenizer with \"split\": true is not supported.", path);
                string scheme = JsonFile.GetString(p, "prepend_scheme")
                    ?? (p.TryGetProperty("add_prefix_space", out var add) && add.ValueKind == JsonValueKind.False ? "never" : "always");
                steps.Add(new PreTokenizerStep.Metaspace(JsonFile.GetString(p, "replacement") ?? SpaceMarker, scheme));
                return;
            default:
                throw Invalid($"tokenizer.json pre-tokenizer \"{type ?? p.GetRawText()}\" is not supported (only Split, ByteLevel, Metaspace and Sequence).", path);
        }
    }

    /// <summary>Compiles a Hugging Face (Rust regex / Oniguruma) split pattern for .NET.</summary>
    internal static Regex Compile(string pattern, string path)
    {
        try
        {
            return new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(10));
        }
        catch (ArgumentException ex)
        {
            throw new OptimizerException(ErrorCodes.TokenizerInvalid, $"tokenizer.json split pattern /{pattern}/ cannot be used: {ex.Message}", path, inner: ex);
        }
    }

    private static int ReadStrip(JsonElement decoder)
    {
        if (decoder.ValueKind != JsonValueKind.Object) return 0;
        if (JsonFile.GetString(decoder, "type") == "Strip" && JsonFile.GetString(decoder, "content") == " "
            && decoder.TryGetProperty("start", out var start) && start.ValueKind == JsonValueKind.Number && start.TryGetInt32(out int n))
            return n;
        if (JsonFile.GetString(decoder, "type") == "Metaspace"
            && JsonFile.GetString(decoder, "prepend_scheme") is "always" or "first")
            return 1;
        if (decoder.TryGetProperty("decoders", out var items) && items.ValueKind == JsonValueKind.Array)
            return items.EnumerateArray().Select(ReadStrip).DefaultIfEmpty(0).Max();
        return 0;
    }

    private static (bool Found, string? Leading, string? Trailing) ReadTemplate(JsonElement post)
    {
        if (post.ValueKind != JsonValueKind.Object) return (false, null, null);
        if (JsonFile.GetString(post, "type") == "Sequence" && post.TryGetProperty("processors", out var items) && items.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in items.EnumerateArray())
            {
                var found = ReadTemplate(item);
                if (found.Found) return found;
            }
            return (false, null, null);
        }
        if (JsonFile.GetString(post, "type") != "TemplateProcessing" || !post.TryGetProperty("single", out var single) || single.ValueKind != JsonValueKind.Array)
            return (false, null, null);
        var parts = single.EnumerateArray().Where(p => p.ValueKind == JsonValueKind.Object).ToList();
        static string? SpecialOf(JsonElement part) =>
            part.TryGetProperty("SpecialToken", out var s) ? JsonFile.GetString(s, "id") : null;
        int sequence = parts.FindIndex(p => p.TryGetProperty("Sequence", out _));
        if (sequence < 0) return (false, null, null);
        return (true, sequence > 0 ? SpecialOf(parts[sequence - 1]) : null, sequence + 1 < parts.Count ? SpecialOf(parts[sequence + 1]) : null);
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

    private static List<(string, string)> ReadMerges(JsonElement model, string path)
    {
        var merges = new List<(string, string)>();
        if (!model.TryGetProperty("merges", out var mergesElement) || mergesElement.ValueKind == JsonValueKind.Null) return merges;
        if (mergesElement.ValueKind != JsonValueKind.Array) throw Invalid("model.merges must be an array.", path);
        int index = 0;
        foreach (var merge in mergesElement.EnumerateArray())
        {
            string? left = null, right = null;
            bool pair = false;
            if (merge.ValueKind == JsonValueKind.String)
            {
                string[] parts = merge.GetString()!.Split(' ');
                if (parts.Length == 2) (left, right) = (parts[0], parts[1]);
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                     && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                (left, right) = (merge[0].GetString(), merge[1].GetString());
                pair = true;
            }
            // The ["a", "b"] form may hold spaces (SentencePiece-style vocabularies spell spaces as ▁, but not always).
            if (string.IsNullOrEmpty(left) || string.IsNullOrEmpty(right) || (!pair && (left.Contains(' ') || right.Contains(' '))))
                throw Invalid($"model.merges[{index}] ({merge.GetRawText()}) must be \"a b\" or [\"a\", \"b\"] with two non-empty tokens.", path);
            merges.Add((left, right));
            index++;
        }
        return merges;
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root, Dictionary<string, int> vocab, string path)
    {
        var result = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var added) || added.ValueKind == JsonValueKind.Null) return result;
        if (added.ValueKind != JsonValueKind.Array) throw Invalid("\"added_tokens\" must be an array.", path);
        var vocabById = new Dictionary<int, string>(vocab.Count);
        foreach (var (k, v) in vocab) vocabById[v] = k;
        var contents = new HashSet<string>(StringComparer.Ordinal);
        var ids = new HashSet<int>();
        foreach (var token in added.EnumerateArray())
        {
            string? content = JsonFile.GetString(token, "content");
            if (content is not { Length: > 0 } || !token.TryGetProperty("id", out var idElement) || !idElement.TryGetInt32(out int id) || id < 0)
                throw Invalid($"\"added_tokens\" entry {token.GetRawText()} needs a non-empty \"content\" and a non-negative \"id\".", path);
            if (vocabById.TryGetValue(id, out string? existing) && existing != content)
                throw Invalid($"Added token \"{content}\" has id {id}, which model.vocab gives to \"{existing}\".", path);
            if (vocab.TryGetValue(content, out int vocabId) && vocabId != id)
                throw Invalid($"Added token \"{content}\" has id {id}, but model.vocab gives it id {vocabId}.", path);
            if (!contents.Add(content) || !ids.Add(id))
                throw Invalid($"\"added_tokens\" lists \"{content}\" or id {id} twice.", path);
            result.Add(new AddedToken(content, id, Flag(token, "special"), Flag(token, "lstrip"), Flag(token, "rstrip"), Flag(token, "normalized")));
        }
        return result;
    }

    private static bool Flag(JsonElement token, string key) => token.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.True;

    internal static OptimizerException Invalid(string message, string path) => new(ErrorCodes.TokenizerInvalid, message, path);
}
