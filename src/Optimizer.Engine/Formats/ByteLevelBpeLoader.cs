using Optimizer.Engine.Formats.Tokenizers;

namespace Optimizer.Engine.Formats;

/// <summary>
/// Loads a Hugging Face <c>tokenizer.json</c> with a BPE model (docs/tokenizers.md): byte-level BPE (GPT-2, Llama 3,
/// Qwen2/3; the file's <c>Split</c> pattern, else GPT-2's; <c>ignore_merges</c>) or SentencePiece-style BPE (Llama 2,
/// Mistral, Gemma; <c>▁</c> for spaces, <c>&lt;0xXX&gt;</c> byte fallback), with its added tokens matched as whole
/// tokens, run by the engine's own <see cref="HfTokenizer"/>.
/// </summary>
internal static class ByteLevelBpeLoader
{
    /// <summary>The Hugging Face tokenizer file name.</summary>
    public const string FileName = "tokenizer.json";

    /// <summary>GPT-2's pre-tokenization pattern.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>
    /// Loads <paramref name="path"/>. When the file is valid JSON but neither byte-level nor SentencePiece-style BPE,
    /// returns null if <paramref name="allowOther"/> (another tokenizer file can be used instead), else fails.
    /// </summary>
    public static LoadedTokenizer? Load(string path, bool allowOther)
    {
        var spec = HfTokenizerJson.Parse(path, allowOther);
        return spec is null ? null : FromSpec(spec);
    }

    /// <summary>The runnable tokenizer of a parsed <c>tokenizer.json</c>.</summary>
    internal static LoadedTokenizer FromSpec(HfTokenizerJson spec)
    {
        var tokenizer = new HfTokenizer(spec);
        var ids = new Dictionary<string, int>(spec.Vocab, StringComparer.Ordinal);
        foreach (var added in spec.Added) ids[added.Content] = added.Id;
        var texts = new string?[tokenizer.Tokens.Length];
        for (int id = 0; id < texts.Length; id++) texts[id] = tokenizer.Tokens[id] is null ? null : tokenizer.TokenText(id);
        string kind = spec.ByteLevel ? ModelTokenizer.ByteLevelBpeKind : ModelTokenizer.SentencePieceKind;
        // The file's own BOS/EOS: the special tokens its post-processor puts around a text.
        int? Id(string? token) => token is not null && ids.TryGetValue(token, out int id) ? id : null;
        return new LoadedTokenizer(kind, spec.Path, tokenizer.Encode, list => tokenizer.Decode(list), texts, ids,
            Id(spec.TemplateLeadingSpecial), Id(spec.TemplateTrailingSpecial)) { Json = spec };
    }

    /// <summary>
    /// Builds a byte-level tokenizer from its parts (e.g. read from GGUF metadata): byte-level <paramref name="vocab"/>,
    /// <paramref name="merges"/> as <c>"a b"</c>, tokens matched whole in the text (<paramref name="special"/>), the
    /// pre-tokenizer split pattern and whether a word in the vocabulary skips the merges.
    /// </summary>
    internal static LoadedTokenizer FromParts(string path, Dictionary<string, int> vocab, List<string> merges,
        Dictionary<string, int> special, string pattern, bool ignoreMerges)
    {
        var pairs = new List<(string, string)>(merges.Count);
        foreach (string merge in merges)
        {
            int space = merge.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || space == merge.Length - 1 || merge.IndexOf(' ', space + 1) >= 0)
                throw new OptimizerException(ErrorCodes.TokenizerInvalid, $"The merge \"{merge}\" is not two tokens separated by one space.", path);
            pairs.Add((merge[..space], merge[(space + 1)..]));
        }
        var spec = new HfTokenizerJson
        {
            Path = path,
            ByteLevel = true,
            Vocab = vocab,
            Merges = pairs,
            Added = special.Select(kv => new AddedToken(kv.Key, kv.Value, Special: true, LStrip: false, RStrip: false, Normalized: false)).ToList(),
            IgnoreMerges = ignoreMerges,
            ByteFallback = false,
            FuseUnk = false,
            UnkId = null,
            SplitPattern = pattern,
            Normalizers = new(),
            PreTokenizers = new() { new PreTokenizerStep.Split(HfTokenizerJson.Compile(pattern, path), SplitBehavior.Isolated), new PreTokenizerStep.ByteLevel(null) },
            AddsSpacePrefix = false,
            DecoderStripsLeading = 0,
            HasTemplate = false,
            TemplateLeadingSpecial = null,
            TemplateTrailingSpecial = null,
        };
        return FromSpec(spec);
    }
}
