using System.Text;

namespace Optimizer.Engine.Formats.Tokenizers;

/// <summary>
/// Runs a <see cref="HfTokenizerJson"/> as Hugging Face tokenizers does (docs/tokenizers.md): added tokens are cut out of
/// the raw text first (leftmost, longest), every other piece is normalized, pre-tokenized and encoded by the
/// <see cref="BpeModel"/>.
/// </summary>
internal sealed class HfTokenizer
{
    private readonly HfTokenizerJson _spec;
    private readonly BpeModel _model;
    private readonly AddedTokenMatcher _added;
    private readonly string?[] _tokens;
    private readonly HashSet<int> _addedIds;
    private readonly Dictionary<char, byte> _charToByte = new();

    public HfTokenizer(HfTokenizerJson spec)
    {
        _spec = spec;
        _model = new BpeModel(spec.Vocab, spec.Merges, spec.IgnoreMerges, spec.ByteFallback, spec.UnkId, spec.FuseUnk,
            message => HfTokenizerJson.Invalid(message, spec.Path));
        _added = new AddedTokenMatcher(spec.Added);
        int size = Math.Max(spec.Vocab.Count == 0 ? 0 : spec.Vocab.Values.Max() + 1, spec.Added.Count == 0 ? 0 : spec.Added.Max(a => a.Id) + 1);
        _tokens = new string?[size];
        foreach (var (token, id) in spec.Vocab) _tokens[id] = token;
        foreach (var a in spec.Added) _tokens[a.Id] = a.Content;
        _addedIds = spec.Added.Select(a => a.Id).ToHashSet();
        var map = ByteLevelVocabulary.ByteToUnicode();
        for (int b = 0; b < 256; b++) _charToByte[map[b]] = (byte)b;
        if (spec.ByteLevel)
        {
            for (int b = 0; b < 256; b++)
            {
                if (!spec.Vocab.ContainsKey(map[b].ToString()))
                    throw HfTokenizerJson.Invalid($"The byte-level vocabulary has no token for byte 0x{b:X2} (\"{map[b]}\"), so some text could not be encoded.", spec.Path);
            }
        }
    }

    /// <summary>Token strings by id as the file spells them (null for ids it does not assign).</summary>
    public string?[] Tokens => _tokens;

    /// <summary>Text to ids, without beginning/end-of-sequence tokens.</summary>
    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        bool first = true;
        foreach (var (piece, token) in _added.IsEmpty ? new() { (text, null) } : _added.Split(text))
        {
            if (token is not null)
            {
                ids.Add(token.Id);
            }
            else
            {
                string normalized = piece;
                foreach (var step in _spec.Normalizers) normalized = step.Apply(normalized);
                var pieces = new List<string> { normalized };
                foreach (var step in _spec.PreTokenizers) step.Apply(pieces, first);
                foreach (string word in pieces) _model.Encode(word, ids);
            }
            first = false;
        }
        return ids.ToArray();
    }

    /// <summary>Ids to text; added tokens appear as their text.</summary>
    public string Decode(IReadOnlyList<int> ids)
    {
        var text = new StringBuilder();
        var bytes = new List<byte>();
        void Flush()
        {
            if (bytes.Count == 0) return;
            text.Append(Encoding.UTF8.GetString(bytes.ToArray()));
            bytes.Clear();
        }
        foreach (int id in ids)
        {
            string? token = (uint)id < (uint)_tokens.Length ? _tokens[id] : null;
            if (token is null) continue;
            if (_addedIds.Contains(id))
            {
                Flush();
                // A SentencePiece-style decoder turns ▁ back into spaces in added tokens too (Gemma's "▁▁▁▁").
                text.Append(_spec.ByteLevel ? token : token.Replace(HfTokenizerJson.SpaceMarker, " ", StringComparison.Ordinal));
            }
            else if (_spec.ByteLevel)
            {
                foreach (char c in token) bytes.Add(_charToByte.TryGetValue(c, out byte b) ? b : (byte)'?');
            }
            else if (_spec.ByteFallback && IsByteToken(token, out byte value))
            {
                bytes.Add(value);
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(token.Replace(HfTokenizerJson.SpaceMarker, " ", StringComparison.Ordinal)));
            }
        }
        Flush();
        string result = text.ToString();
        for (int i = 0; i < _spec.DecoderStripsLeading && result.StartsWith(' '); i++) result = result[1..];
        return result;
    }

    /// <summary>Whether <paramref name="token"/> is a byte-fallback token <c>&lt;0xXX&gt;</c>, and its byte.</summary>
    public static bool IsByteToken(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
               && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out value);
    }

    /// <summary>A readable rendering of token <paramref name="id"/> (bytes that are not UTF-8 on their own as <c>&lt;0xNN&gt;</c>).</summary>
    public string? TokenText(int id)
    {
        string? token = _tokens[id];
        if (token is null || _addedIds.Contains(id)) return token;
        if (_spec.ByteLevel)
        {
            var raw = new byte[token.Length];
            for (int i = 0; i < token.Length; i++)
            {
                if (!_charToByte.TryGetValue(token[i], out raw[i])) return token;
            }
            return ModelTokenizer.RenderBytes(raw);
        }
        if (_spec.ByteFallback && IsByteToken(token, out byte value)) return ModelTokenizer.RenderBytes(new[] { value });
        return token.Replace(HfTokenizerJson.SpaceMarker, " ", StringComparison.Ordinal);
    }
}
