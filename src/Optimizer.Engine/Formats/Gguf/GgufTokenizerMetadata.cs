using System.Text.Json;

namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// Converts between a model folder's tokenizer files and GGUF tokenizer metadata as llama.cpp reads it: a byte-level
/// BPE <c>tokenizer.json</c> becomes <c>gpt2</c> (tokens in id order, token types, merges, pre-tokenizer), a
/// SentencePiece <c>tokenizer.model</c> becomes <c>llama</c> (pieces, scores, types); and back into a
/// <see cref="ModelTokenizer"/>.
/// </summary>
internal static class GgufTokenizerMetadata
{
    private const string Gpt2 = "gpt2", Llama = "llama";

    // llama.cpp pre-tokenizer names for the split patterns their converters recognize.
    private static readonly (string Pre, string Pattern)[] KnownPatterns =
    {
        ("gpt-2", ByteLevelBpeLoader.Gpt2Pattern),
        ("llama-bpe", @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"),
        ("qwen2", @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"),
    };

    /// <summary>The tokenizer metadata of <paramref name="model"/>, padded to the model's vocabulary size.</summary>
    public static List<KeyValuePair<string, GgufValue>> FromModel(ModelFolder model)
    {
        var tokenizer = model.Tokenizer;
        if (tokenizer.GgufSource is { } source)
            return source.Entries.Where(e => e.Key.StartsWith("tokenizer.", StringComparison.Ordinal) || e.Key == GgufKeys.SplitRegex).ToList();
        var entries = tokenizer.Kind == ModelTokenizer.ByteLevelBpeKind
            ? FromTokenizerJson(tokenizer.File, model.Config)
            : FromSentencePiece(tokenizer.File, model.Config);
        if (tokenizer.BosId is int bos) entries.Add(new(GgufKeys.BosId, GgufValue.UInt32((uint)bos)));
        if (tokenizer.EosId is int eos) entries.Add(new(GgufKeys.EosId, GgufValue.UInt32((uint)eos)));
        entries.Add(new(GgufKeys.AddBos, GgufValue.Bool(tokenizer.BosId is not null && model.Config.ModelType is not ("qwen2" or "qwen3"))));
        entries.Add(new(GgufKeys.AddEos, GgufValue.Bool(false)));
        return entries;
    }

    private static List<KeyValuePair<string, GgufValue>> FromTokenizerJson(string path, ModelConfig config)
    {
        using var document = JsonFile.Parse(path, ErrorCodes.TokenizerInvalid, "tokenizer.json");
        var root = document.RootElement;
        var model = root.GetProperty("model");
        var tokens = new string?[config.VocabSize];
        var types = new int[config.VocabSize];
        foreach (var entry in model.GetProperty("vocab").EnumerateObject()) Assign(tokens, types, entry.Value.GetInt32(), entry.Name, SentencePieceProto.Normal, path);
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in added.EnumerateArray())
            {
                bool special = token.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                Assign(tokens, types, token.GetProperty("id").GetInt32(), token.GetProperty("content").GetString()!,
                    special ? SentencePieceProto.Control : SentencePieceProto.UserDefined, path);
            }
        }
        var merges = new List<string>();
        if (model.TryGetProperty("merges", out var m) && m.ValueKind == JsonValueKind.Array)
        {
            foreach (var merge in m.EnumerateArray())
                merges.Add(merge.ValueKind == JsonValueKind.String ? merge.GetString()! : merge[0].GetString() + " " + merge[1].GetString());
        }
        string pattern = root.TryGetProperty("pre_tokenizer", out var pre) ? FindSplitPattern(pre) ?? ByteLevelBpeLoader.Gpt2Pattern : ByteLevelBpeLoader.Gpt2Pattern;
        string? preName = KnownPatterns.FirstOrDefault(k => k.Pattern == pattern).Pre;
        var entries = new List<KeyValuePair<string, GgufValue>>
        {
            new(GgufKeys.TokenizerModel, GgufValue.String(Gpt2)),
            new(GgufKeys.TokenizerPre, GgufValue.String(preName ?? "default")),
        };
        Pad(tokens, types);
        entries.Add(new(GgufKeys.Tokens, GgufValue.Strings(tokens!)));
        entries.Add(new(GgufKeys.TokenTypes, GgufValue.Int32s(types)));
        entries.Add(new(GgufKeys.Merges, GgufValue.Strings(merges)));
        if (preName is null) entries.Add(new(GgufKeys.SplitRegex, GgufValue.String(pattern)));
        return entries;
    }

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

    private static string? FindSplitPattern(JsonElement preTokenizer)
    {
        if (preTokenizer.ValueKind != JsonValueKind.Object) return null;
        if (JsonFile.GetString(preTokenizer, "type") == "Split" && preTokenizer.TryGetProperty("pattern", out var p) && JsonFile.GetString(p, "Regex") is string regex)
            return regex;
        if (preTokenizer.TryGetProperty("pretokenizers", out var items) && items.ValueKind == JsonValueKind.Array)
            return items.EnumerateArray().Select(FindSplitPattern).FirstOrDefault(x => x is not null);
        return null;
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
            string pattern = metadata.FindString(GgufKeys.SplitRegex)
                ?? KnownPatterns.FirstOrDefault(k => k.Pre == pre).Pattern
                ?? ByteLevelBpeLoader.Gpt2Pattern;
            inner = ByteLevelBpeLoader.FromParts(path, vocab, merges, special, pattern, normalizer: null);
        }
        else if (kind == Llama)
        {
            float[] scores = metadata.FindArray<float>(GgufKeys.Scores, GgufValueType.Float32) ?? new float[tokens.Length];
            if (scores.Length != tokens.Length)
                throw new OptimizerException(ErrorCodes.GgufTokenizerUnsupported, $"'{GgufKeys.Scores}' has {scores.Length} entries but there are {tokens.Length} tokens.", path);
            var model = new SentencePieceProto.Model(tokens, scores, types, metadata.FindInt32(GgufKeys.UnknownId) ?? 0,
                bos ?? -1, eos ?? -1, metadata.FindInt32(GgufKeys.PaddingId) ?? -1);
            inner = SentencePieceLoader.Load(SentencePieceProto.Write(model), path);
        }
        else
        {
            throw new OptimizerException(ErrorCodes.GgufTokenizerUnsupported,
                $"GGUF tokenizer model \"{kind}\" is not supported; only \"gpt2\" (byte-level BPE) and \"llama\" (SentencePiece).", path);
        }
        return ModelTokenizer.FromLoaded(inner, config, bos, eos, metadata);
    }
}
