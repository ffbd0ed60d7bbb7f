using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Optimizer.Engine.Formats;

/// <summary>
/// The tokenizer of a model folder (docs/tokenizers.md): a Hugging Face <c>tokenizer.json</c> with a byte-level or a
/// SentencePiece-style BPE model (<see cref="ByteLevelBpeLoader"/>, run by the engine's own BPE) or a Llama-2 style
/// SentencePiece <c>tokenizer.model</c> (<see cref="SentencePieceLoader"/>, run by Microsoft.ML.Tokenizers).
/// Beginning/end-of-sequence ids come from <c>config.json</c>, else from <c>tokenizer_config.json</c>, else from the
/// tokenizer file itself; <c>tokenizer_config.json</c> also gives the add-BOS/EOS flags and the chat template.
/// </summary>
public sealed class ModelTokenizer
{
    /// <summary>The <see cref="Kind"/> of a byte-level BPE tokenizer.</summary>
    public const string ByteLevelBpeKind = "byte-level-bpe";

    /// <summary>The <see cref="Kind"/> of a SentencePiece tokenizer.</summary>
    public const string SentencePieceKind = "sentencepiece";

    private readonly LoadedTokenizer _inner;

    private ModelTokenizer(LoadedTokenizer inner, int? bosId, int? eosId)
    {
        _inner = inner;
        BosId = bosId;
        EosId = eosId;
        EotId = FindEot(inner);
    }

    // End-of-turn tokens of the chat formats, in the order they are looked for (docs/tokenizers.md).
    private static readonly string[] EotTokens = { "<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>", "<|eot|>" };

    private static int? FindEot(LoadedTokenizer inner)
    {
        foreach (string text in EotTokens)
        {
            if (inner.TokenIds.TryGetValue(text, out int id)) return id;
        }
        return null;
    }

    /// <summary>The end-of-turn id of a chat tokenizer (<c>&lt;|eot_id|&gt;</c>, <c>&lt;|im_end|&gt;</c>, <c>&lt;end_of_turn&gt;</c>, <c>&lt;|end|&gt;</c>), if it has one.</summary>
    public int? EotId { get; }

    /// <summary>The padding id named by <c>tokenizer_config.json</c>'s <c>pad_token</c>, if any.</summary>
    public int? PadId { get; private init; }

    /// <summary>
    /// Whether the model expects a beginning-of-sequence token before a text: <c>tokenizer_config.json</c>'s
    /// <c>add_bos_token</c>, else whether <c>tokenizer.json</c>'s post-processor puts one there, else null (unknown).
    /// </summary>
    public bool? AddBos { get; private init; }

    /// <summary>Whether the model expects an end-of-sequence token after a text (as <see cref="AddBos"/>), or null.</summary>
    public bool? AddEos { get; private init; }

    /// <summary>The chat template of <c>tokenizer_config.json</c> (a string, or the list entry named "default"), if any.</summary>
    public string? ChatTemplate { get; private init; }

    /// <summary>The parsed <c>tokenizer.json</c>, or null.</summary>
    internal Tokenizers.HfTokenizerJson? Json => _inner.Json;

    /// <summary><see cref="ByteLevelBpeKind"/> or <see cref="SentencePieceKind"/>.</summary>
    public string Kind => _inner.Kind;

    /// <summary>The tokenizer file that was loaded.</summary>
    public string File => _inner.File;

    /// <summary>Number of token ids (the largest id plus one).</summary>
    public int VocabSize => _inner.TokenTexts.Length;

    /// <summary>The beginning-of-sequence id, if known.</summary>
    public int? BosId { get; }

    /// <summary>The end-of-sequence id, if known.</summary>
    public int? EosId { get; }

    /// <summary>
    /// Loads the tokenizer of <paramref name="folder"/>: <c>tokenizer.json</c> when it is byte-level BPE, otherwise
    /// <c>tokenizer.model</c>. Fails with <see cref="ErrorCodes.TokenizerMissing"/> when there is none and with
    /// <see cref="ErrorCodes.TokenizerInvalid"/> (naming the file, with line and column for JSON) when it is malformed
    /// or does not fit the model's vocabulary.
    /// </summary>
    public static ModelTokenizer Load(string folder, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string json = Path.Combine(folder, ByteLevelBpeLoader.FileName);
        string model = Path.Combine(folder, SentencePieceLoader.FileName);
        foreach (string file in new[] { json, model })
        {
            if (Directory.Exists(file)) FileKind.RequireRegular(file, "tokenizer file", ErrorCodes.TokenizerMissing);
        }
        LoadedTokenizer inner;
        if (System.IO.File.Exists(json))
        {
            bool hasModel = System.IO.File.Exists(model);
            inner = ByteLevelBpeLoader.Load(json, allowOther: hasModel) ?? SentencePieceLoader.Load(model);
        }
        else if (System.IO.File.Exists(model))
        {
            inner = SentencePieceLoader.Load(model);
        }
        else
        {
            throw new OptimizerException(ErrorCodes.TokenizerMissing,
                $"No tokenizer: neither {ByteLevelBpeLoader.FileName} nor {SentencePieceLoader.FileName} is in the model folder.", folder);
        }
        if (inner.TokenTexts.Length > config.VocabSize)
            throw new OptimizerException(ErrorCodes.TokenizerInvalid,
                $"The tokenizer has token ids up to {inner.TokenTexts.Length - 1}, but the model's vocab_size is {config.VocabSize}.", inner.File);
        var settings = ReadTokenizerConfig(Path.Combine(folder, "tokenizer_config.json"), inner);
        int? bos = config.BosTokenId ?? settings.Bos ?? inner.BosId;
        int? eos = config.EosTokenId ?? settings.Eos ?? inner.EosId;
        CheckSpecialId(bos, "beginning-of-sequence", inner);
        CheckSpecialId(eos, "end-of-sequence", inner);
        var spec = inner.Json;
        bool? TemplateHas(string? token, int? id) => spec is not { HasTemplate: true } ? null
            : token is not null && id is int value && inner.TokenIds.TryGetValue(token, out int t) && t == value;
        return new ModelTokenizer(inner, bos, eos)
        {
            PadId = settings.Pad,
            AddBos = settings.AddBos ?? TemplateHas(spec?.TemplateLeadingSpecial, bos),
            AddEos = settings.AddEos ?? TemplateHas(spec?.TemplateTrailingSpecial, eos),
            ChatTemplate = settings.ChatTemplate,
        };
    }

    /// <summary>
    /// A tokenizer built by a loader from another source than the model folder's files (a GGUF file's metadata), with
    /// that source's beginning/end-of-sequence ids; checked against the model's vocabulary like <see cref="Load"/>.
    /// </summary>
    internal static ModelTokenizer FromLoaded(LoadedTokenizer inner, ModelConfig config, int? bosId, int? eosId, Gguf.GgufMetadata? gguf = null)
    {
        if (inner.TokenTexts.Length > config.VocabSize)
            throw new OptimizerException(ErrorCodes.TokenizerInvalid,
                $"The tokenizer has token ids up to {inner.TokenTexts.Length - 1}, but the model's vocab_size is {config.VocabSize}.", inner.File);
        CheckSpecialId(bosId, "beginning-of-sequence", inner);
        CheckSpecialId(eosId, "end-of-sequence", inner);
        return new ModelTokenizer(inner, bosId, eosId)
        {
            GgufSource = gguf,
            AddBos = gguf?.FindBool(Gguf.GgufKeys.AddBos),
            AddEos = gguf?.FindBool(Gguf.GgufKeys.AddEos),
            ChatTemplate = gguf?.FindString(Gguf.GgufKeys.ChatTemplate),
        };
    }

    /// <summary>The GGUF metadata this tokenizer was rebuilt from (so a GGUF writer can copy it), or null.</summary>
    internal Gguf.GgufMetadata? GgufSource { get; private init; }

    /// <summary>The token ids of <paramref name="text"/>, preceded by <see cref="BosId"/> when <paramref name="addBos"/>.</summary>
    public int[] Encode(string text, bool addBos)
    {
        ArgumentNullException.ThrowIfNull(text);
        int[] ids = _inner.Encode(text);
        if (!addBos) return ids;
        if (BosId is not int bos)
            throw new OptimizerException(ErrorCodes.TokenizerInvalid,
                "A beginning-of-sequence token was requested, but neither config.json, tokenizer_config.json nor the tokenizer defines one.", File);
        var withBos = new int[ids.Length + 1];
        withBos[0] = bos;
        ids.CopyTo(withBos, 1);
        return withBos;
    }

    /// <summary>The text of <paramref name="ids"/>; special tokens appear as their text (e.g. <c>&lt;s&gt;</c>).</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        foreach (int id in ids) CheckId(id);
        return _inner.Decode(ids.ToArray());
    }

    /// <summary>
    /// A readable rendering of one token: its text, with bytes that are not valid UTF-8 on their own written as
    /// <c>&lt;0xNN&gt;</c>; an id the vocabulary does not assign gives an empty string.
    /// </summary>
    public string TokenText(int id)
    {
        CheckId(id);
        return _inner.TokenTexts[id] ?? "";
    }

    private void CheckId(int id)
    {
        if ((uint)id >= (uint)VocabSize)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token ids range from 0 to {VocabSize - 1}.");
    }

    private static void CheckSpecialId(int? id, string what, LoadedTokenizer inner)
    {
        if (id is int value && (value < 0 || value >= inner.TokenTexts.Length || inner.TokenTexts[value] is null))
            throw new OptimizerException(ErrorCodes.TokenizerInvalid, $"The {what} id {value} is not a token of the tokenizer (ids 0 to {inner.TokenTexts.Length - 1}).", inner.File);
    }

    private sealed record TokenizerSettings(int? Bos, int? Eos, int? Pad, bool? AddBos, bool? AddEos, string? ChatTemplate);

    private static TokenizerSettings ReadTokenizerConfig(string path, LoadedTokenizer inner)
    {
        if (!System.IO.File.Exists(path)) return new TokenizerSettings(null, null, null, null, null, null);
        using var document = JsonFile.Parse(path, ErrorCodes.TokenizerInvalid, "tokenizer_config.json");
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new OptimizerException(ErrorCodes.TokenizerInvalid, "tokenizer_config.json must be a JSON object.", path);
        return new TokenizerSettings(Resolve(root, "bos_token", path, inner), Resolve(root, "eos_token", path, inner), Resolve(root, "pad_token", path, inner, required: false),
            Flag(root, "add_bos_token", path), Flag(root, "add_eos_token", path), ReadChatTemplate(root, path));
    }

    private static bool? Flag(JsonElement root, string key, string path)
    {
        if (!root.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new OptimizerException(ErrorCodes.TokenizerInvalid, $"tokenizer_config.json \"{key}\" must be true or false, not {value.GetRawText()}.", path),
        };
    }

    private static string? ReadChatTemplate(JsonElement root, string path)
    {
        if (!root.TryGetProperty("chat_template", out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.String) return value.GetString();
        if (value.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in value.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.Object && JsonFile.GetString(item, "name") == "default")
                    return JsonFile.GetString(item, "template")
                        ?? throw new OptimizerException(ErrorCodes.TokenizerInvalid, "tokenizer_config.json's chat template \"default\" has no \"template\" string.", path);
            }
            return null;
        }
        throw new OptimizerException(ErrorCodes.TokenizerInvalid, $"tokenizer_config.json \"chat_template\" must be a string or a list of {{\"name\", \"template\"}} objects, not {value.ValueKind}.", path);
    }

    /// <summary>
    /// The id of the token <paramref name="key"/> names; a name that is not a token fails when
    /// <paramref name="required"/> and is ignored otherwise (a padding token is optional metadata).
    /// </summary>
    private static int? Resolve(JsonElement root, string key, string path, LoadedTokenizer inner, bool required = true)
    {
        if (!root.TryGetProperty(key, out var value)) return null;
        string? content = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object => JsonFile.GetString(value, "content"),
            _ => null,
        };
        if (content is null) return null;
        if (!inner.TokenIds.TryGetValue(content, out int id))
        {
            if (!required) return null;
            throw new OptimizerException(ErrorCodes.TokenizerInvalid, $"tokenizer_config.json names \"{key}\" \"{content}\", which is not a token of {System.IO.Path.GetFileName(inner.File)}.", path);
        }
        return id;
    }

    /// <summary>Renders bytes as text, writing each byte that is not part of a valid UTF-8 sequence as <c>&lt;0xNN&gt;</c>.</summary>
    internal static string RenderBytes(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out Rune rune, out int consumed) == OperationStatus.Done)
            {
                text.Append(rune.ToString());
                bytes = bytes[consumed..];
            }
            else
            {
                text.Append("<0x").Append(bytes[0].ToString("X2", System.Globalization.CultureInfo.InvariantCulture)).Append('>');
                bytes = bytes[1..];
            }
        }
        return text.ToString();
    }
}

/// <summary>What a tokenizer loader produces: the runnable tokenizer plus the tables <see cref="ModelTokenizer"/> needs.</summary>
/// <param name="Kind">The tokenizer kind.</param>
/// <param name="File">The tokenizer file.</param>
/// <param name="Encode">Text to ids, without beginning/end-of-sequence tokens.</param>
/// <param name="Decode">Ids to text, special tokens included.</param>
/// <param name="TokenTexts">Readable text per id (null for ids the vocabulary does not assign).</param>
/// <param name="TokenIds">Token string (as stored in the file) to id, special tokens included.</param>
/// <param name="BosId">The file's own beginning-of-sequence id, if it defines one.</param>
/// <param name="EosId">The file's own end-of-sequence id, if it defines one.</param>
internal sealed record LoadedTokenizer(
    string Kind, string File, Func<string, int[]> Encode, Func<int[], string> Decode,
    string?[] TokenTexts, IReadOnlyDictionary<string, int> TokenIds, int? BosId, int? EosId)
{
    /// <summary>The parsed <c>tokenizer.json</c> this tokenizer runs, or null (a <c>tokenizer.model</c> or GGUF metadata).</summary>
    public Tokenizers.HfTokenizerJson? Json { get; init; }
}
