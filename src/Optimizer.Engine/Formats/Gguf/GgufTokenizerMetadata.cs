using System.Text.Json;

namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// Converts between a model folder's tokenizer files and GGUF tokenizer metadata as llama.cpp reads it
/// (docs/tokenizers.md): a byte-level BPE <c>tokenizer.json</c> becomes <c>gpt2</c> (tokens in id order, token types,
/// merges, the pre-tokenizer named after the file's own split pattern), a SentencePiece-style <c>tokenizer.json</c> or a
/// SentencePiece <c>tokenizer.model</c> becomes <c>llama</c> (pieces, scores, types); special ids, add-BOS/EOS flags and
/// the chat template come from the tokenizer; and back into a <see cref="ModelTokenizer"/>.
/// </summary>
public static class GgufTokenizerMetadata
{
    private const string Gpt2 = "gpt2", Llama = "llama";

    /// <summary>llama.cpp's <c>tokenizer.ggml.pre</c> names of the byte-level split patterns the engine recognizes (docs/tokenizers.md).</summary>
    internal static readonly (string Pre, string Pattern, bool IgnoreMerges)[] KnownPatterns =
    {
        ("gpt-2", ByteLevelBpeLoader.Gpt2Pattern, false),
        ("llama-bpe", @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+", true),
        ("qwen2", @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+", false),
    };

    /// <summary>The <c>tokenizer.ggml.pre</c> name llama.cpp uses for a byte-level split pattern, or null if it has none.</summary>
    public static string? PreTokenizerName(string pattern) => KnownPatterns.FirstOrDefault(k => k.Pattern == pattern).Pre;

    /// <summary>The tokenizer metadata of <paramref name="model"/>, padded to the model's vocabulary size.</summary>
    internal static List<KeyValuePair<string, GgufValue>> FromModel(ModelFolder model) => ForTokenizer(model.Tokenizer, model.Config);

    /// <summary>
    /// The GGUF tokenizer metadata of <paramref name="tokenizer"/> as llama.cpp reads it (docs/tokenizers.md), its token
    /// list padded to <paramref name="config"/>'s vocabulary size. A byte-level split pattern llama.cpp does not know
    /// fails with <see cref="ErrorCodes.GgufTokenizerUnsupported"/>: llama.cpp would split the text differently.
    /// </summary>
    public static List<KeyValuePair<string, GgufValue>> ForTokenizer(ModelTokenizer tokenizer, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(config);
        if (tokenizer.GgufSource is { } source)
            return source.Entries.Where(e => e.Key.StartsWith("tokenizer.", StringComparison.Ordinal) || e.Key == GgufKeys.SplitRegex).ToList();
        var entries = tokenizer.Json is { } json
            ? json.ByteLevel ? FromByteLevelJson(json, config) : FromSentencePieceJson(json, config)
            : FromSentencePiece(tokenizer.File, config);
        if (tokenizer.BosId is int bos) entries.Add(new(GgufKeys.BosId, GgufValue.UInt32((uint)bos)));
        if (tokenizer.EosId is int eos) entries.Add(new(GgufKeys.EosId, GgufValue.UInt32((uint)eos)));
        if (tokenizer.EotId is int eot) entries.Add(new(GgufKeys.EotId, GgufValue.UInt32((uint)eot)));
        if (tokenizer.PadId is int pad && !entries.Any(e => e.Key == GgufKeys.PaddingId)) entries.Add(new(GgufKeys.PaddingId, GgufValue.UInt32((uint)pad)));
        // Qwen2/Qwen3 models are never given a beginning-of-sequence token (their own tokenizer has none), whatever the
        // tokenizer files say; other models follow tokenizer_config.json / the post-processor, else add one if there is one.
        bool addBos = config.ModelType is not ("qwen2" or "qwen3") && (tokenizer.AddBos ?? tokenizer.BosId is not null);
        entries.Add(new(GgufKeys.AddBos, GgufValue.Bool(addBos && tokenizer.BosId is not null)));
        entries.Add(new(GgufKeys.AddEos, GgufValue.Bool(tokenizer.AddEos == true && tokenizer.EosId is not null)));
        if (tokenizer.ChatTemplate is string template) entries.Add(new(GgufKeys.ChatTemplate, GgufValue.String(template)));
        return entries;
    }

    private static List<KeyValuePair<string, GgufValue>> FromByteLevelJson(Tokenizers.HfTokenizerJson json, ModelConfig config)
    {
        string path = json.Path;
        var tokens = new string?[config.VocabSize];
        var types = new int[config.VocabSize];
        foreach (var (token, id) in json.Vocab) Assign(tokens, types, id, token, SentencePieceProto.Normal, path);
        foreach (var added in json.Added)
            Assign(tokens, types, added.Id, added.Content, added.Special || LooksSpecial(added.Content) ? SentencePieceProto.Control : SentencePieceProto.UserDefined, path);
        string pattern = json.SplitPattern ?? ByteLevelBpeLoader.Gpt2Pattern;
        string preName = PreTokenizerName(pattern)
            ?? throw new OptimizerException(ErrorCodes.GgufTokenizerUnsupported,
                $"tokenizer.json splits text with the pattern /{pattern}/, which llama.cpp does not know, so llama.cpp would tokenize the GGUF file differently. "
                + $"Known patterns: {string.Join(", ", KnownPatterns.Select(k => k.Pre))} (docs/tokenizers.md).", path);
        Pad(tokens, types);
        return new List<KeyValuePair<string, GgufValue>>
        {
            new(GgufKeys.TokenizerModel, GgufValue.String(Gpt2)),
            new(GgufKeys.TokenizerPre, GgufValue.String(preName)),
            new(GgufKeys.Tokens, GgufValue.Strings(tokens!)),
            new(GgufKeys.TokenTypes, GgufValue.Int32s(types)),
            new(GgufKeys.Merges, GgufValue.Strings(json.Merges.Select(m => m.Left + " " + m.Right).ToList())),
        };
    }

    /// <summary>
    /// A SentencePiece-style <c>tokenizer.json</c> as llama.cpp's <c>llama</c> tokenizer: pieces, types (byte, control,
    /// user-defined, unknown) and scores that make llama.cpp's score-ordered merging follow the file's merge ranks: a
    /// piece made by merge <c>r</c> scores <c>-r</c>; pieces no merge makes score below every merge.
    /// </summary>
    private static List<KeyValuePair<string, GgufValue>> FromSentencePieceJson(Tokenizers.HfTokenizerJson json, ModelConfig config)
    {
        string path = json.Path;
        var tokens = new string?[config.VocabSize];
        var types = new int[config.VocabSize];
        var scores = new float[config.VocabSize];
        foreach (var (token, id) in json.Vocab)
        {
            int type = id == json.UnkId ? SentencePieceProto.Unknown
                : json.ByteFallback && Tokenizers.HfTokenizer.IsByteToken(token, out _) ? SentencePieceProto.Byte
                : SentencePieceProto.Normal;
            Assign(tokens, types, id, token, type, path);
        }
        foreach (var added in json.Added)
        {
            int type = added.Id == json.UnkId ? SentencePieceProto.Unknown
                : added.Special || LooksSpecial(added.Content) ? SentencePieceProto.Control
                : SentencePieceProto.UserDefined;
            Assign(tokens, types, added.Id, added.Content, type, path);
        }
        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int r = 0; r < json.Merges.Count; r++) rank.TryAdd(json.Merges[r].Left + json.Merges[r].Right, r);
        for (int id = 0; id < tokens.Length; id++)
        {
            if (tokens[id] is not string token) continue;
            scores[id] = rank.TryGetValue(token, out int r) ? -r : -(json.Merges.Count + id);
        }
        Pad(tokens, types);
        var entries = new List<KeyValuePair<string, GgufValue>>
        {
            new(GgufKeys.TokenizerModel, GgufValue.String(Llama)),
            new(GgufKeys.TokenizerPre, GgufValue.String("default")),
            new(GgufKeys.Tokens, GgufValue.Strings(tokens!)),
            new(GgufKeys.Scores, GgufValue.Float32s(scores)),
            new(GgufKeys.TokenTypes, GgufValue.Int32s(types)),
            new(GgufKeys.AddSpacePrefix, GgufValue.Bool(json.AddsSpacePrefix)),
        };
        if (json.UnkId is int unk && unk < config.VocabSize) entries.Add(new(GgufKeys.UnknownId, GgufValue.UInt32((uint)unk)));
        return entries;
    }

    /// <summary>
    /// Added tokens that llama.cpp's converter types as control although the file does not mark them special
    /// (<c>&lt;|…|&gt;</c>, <c>&lt;unused…&gt;</c>, <c>&lt;mask&gt;</c>, <c>&lt;pad&gt;</c>, <c>[@BOS@]</c>, <c>&lt;2mass&gt;</c>).
    /// </summary>
    internal static bool LooksSpecial(string content) =>
        content is "<pad>" or "<mask>" or "<2mass>" or "[@BOS@]"
        || (content.StartsWith("<|", StringComparison.Ordinal) && content.EndsWith("|>", StringComparison.Ordinal))
        || (content.StartsWith("<\uFF5C", StringComparison.Ordinal) && content.EndsWith("\uFF5C>", StringComparison.Ordinal))
        || (content.StartsWith("<unused", StringComparison.Ordinal) && content.EndsWith('>'));

    private static List<KeyValuePair<string, GgufValue>> FromSentencePiece(string path, ModelConfig config)
    {
        var model = SentencePieceProto.Read(JsonFile.ReadAllBytes(path), path);
        var tokens = new string?[config.VocabSize];
        var types = new int[config.VocabSize];
        var scores = new float[config.VocabSize];
        for (int i = 0; i < model.Pieces.Length; i++)
        {
            Assign(tokens, types, i, model.Pieces[i], model.Types[i], path);
            scores[i] = model.Scores[i];
        }
        Pad(tokens, types);
        var entries = new List<KeyValuePair<string, GgufValue>>
        {
            new(GgufKeys.TokenizerModel, GgufValue.String(Llama)),
            new(GgufKeys.TokenizerPre, GgufValue.String("default")),
            new(GgufKeys.Tokens, GgufValue.Strings(tokens!)),
            new(GgufKeys.Scores, GgufValue.Float32s(scores)),
            new(GgufKeys.TokenTypes, GgufValue.Int32s(types)),
        };
        if (model.UnkId >= 0 && model.UnkId < config.VocabSize) entries.Add(new(GgufKeys.UnknownId, GgufValue.UInt32((uint)model.UnkId)));
        if (model.PadId >= 0 && model.PadId < config.VocabSize) entries.Add(new(GgufKeys.PaddingId, GgufValue.UInt32((uint)model.PadId)));
        return entries;
    }

    private static void Assign(string?[] tokens, int[] types, int id, string token, int type, string path)
    {
        if (id < 0 || id >= tokens.Length)
            throw new OptimizerException(ErrorCodes.GgufTokenizerUnsupported,
                $"Token \"{token}\" has id {id}, outside the model's vocabulary of {tokens.Length}.", path);
        tokens[id] = token;
        types[id] = type;
    }

    private static void Pad(string?[] tokens, int[] types)
    {
        for (int id = 0; id < tokens.Length; id++)
        {
            if (tokens[id] is not null) continue;
            tokens[id] = "[PAD" + id.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]";
            types[id] = SentencePieceProto.Unused;
        }
    }

    /// <summary>Rebuilds the tokenizer that <paramref name="metadata"/> describes (<c>gpt2</c> or <c>llama</c>).</summary>
    public static ModelTokenizer ToTokenizer(GgufMetadata metadata, ModelConfig config, string path)
    {
        string kind = metadata.FindString(GgufKeys.TokenizerModel)
            ?? throw new OptimizerException(ErrorCodes.TokenizerMissing, $"The GGUF file has no tokenizer ('{GgufKeys.TokenizerModel}' is absent).", path);
        string[] tokens = metadata.GetArray<string>(GgufKeys.Tokens, GgufValueType.String);
        int[] types = metadata.FindArray<int>(GgufKeys.TokenTypes, GgufValueType.Int32) ?? Enumerable.Repeat(SentencePieceProto.Normal, tokens.Length).ToArray();
        if (types.Length != tokens.Length)
            throw new OptimizerException(ErrorCodes.GgufTokenizerUnsupported, $"'{GgufKeys.TokenTypes}' has {types.Length} entries but there are {tokens.Length} tokens.", path);
        int? bos = metadata.FindInt32(GgufKeys.BosId);
        int? eos = metadata.FindInt32(GgufKeys.EosId);
        LoadedTokenizer inner;
        if (kind == Gpt2)
        {
            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            var special = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int id = 0; id < tokens.Length; id++)
            {
                var target = types[id] switch
                {
                    SentencePieceProto.Control or SentencePieceProto.UserDefined => special,
                    SentencePieceProto.Unused => null,
                    _ => vocab,
                };
                if (target is not null && !target.TryAdd(tokens[id], id))
                    throw new OptimizerException(ErrorCodes.GgufTokenizerUnsupported, $"Token \"{tokens[id]}\" appears twice in '{GgufKeys.Tokens}'.", path);
            }
            var merges = (metadata.FindArray<string>(GgufKeys.Merges, GgufValueType.String) ?? Array.Empty<string>()).ToList();
            string pre = metadata.FindString(GgufKeys.TokenizerPre) ?? "default";
            var known = KnownPatterns.FirstOrDefault(k => k.Pre == pre);
            string pattern = metadata.FindString(GgufKeys.SplitRegex) ?? known.Pattern ?? ByteLevelBpeLoader.Gpt2Pattern;
            inner = ByteLevelBpeLoader.FromParts(path, vocab, merges, special, pattern, ignoreMerges: known.IgnoreMerges);
        }
        else if (kind == Llama)
        {
            float[] scores = metadata.FindArray<float>(GgufKeys.Scores, GgufValueType.Float32) ?? new float[tokens.Length];
            if (scores.Length != tokens.Length)
                throw new OptimizerException(ErrorCodes.GgufTokenizerUnsupported, $"'{GgufKeys.Scores}' has {scores.Length} entries but there are {tokens.Length} tokens.", path);
            inner = Tokenizers.ScoredPieceTokenizer.Build(path, tokens, types, scores, metadata.FindInt32(GgufKeys.UnknownId),
                metadata.FindBool(GgufKeys.AddSpacePrefix) ?? true);
        }
        else
        {
            throw new OptimizerException(ErrorCodes.GgufTokenizerUnsupported,
                $"GGUF tokenizer model \"{kind}\" is not supported; only \"gpt2\" (byte-level BPE) and \"llama\" (SentencePiece).", path);
        }
        return ModelTokenizer.FromLoaded(inner, config, bos, eos, metadata);
    }
}
