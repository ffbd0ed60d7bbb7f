using System.Text;

namespace Optimizer.Engine.Formats.Tokenizers;

/// <summary>
/// The BPE model of a Hugging Face <c>tokenizer.json</c> (docs/tokenizers.md): a vocabulary, ranked merges, and the two
/// ways a word becomes its first symbols — byte-level (every character is one of GPT-2's 256 byte characters) or
/// SentencePiece style (one symbol per Unicode character, characters outside the vocabulary as <c>&lt;0xXX&gt;</c> byte
/// tokens when <c>byte_fallback</c> is set, else the unknown token). Merges are applied lowest rank first, leftmost first
/// among equal ranks, as Hugging Face's <c>BPE</c> model does; with <c>ignore_merges</c> a word that is itself in the
/// vocabulary is one token.
/// </summary>
internal sealed class BpeModel
{
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<long, (int Rank, int Id)> _merges;
    private readonly bool _ignoreMerges;
    private readonly int[]? _byteTokens;
    private readonly int? _unkId;
    private readonly bool _fuseUnk;
    private readonly Dictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly object _cacheGate = new();
    private readonly Func<string, Exception> _invalid;

    /// <param name="vocab">Token string to id.</param>
    /// <param name="merges">Merges in rank order, as (left, right) token strings.</param>
    /// <param name="ignoreMerges">Emit a word that is in the vocabulary as one token.</param>
    /// <param name="byteFallback">Spell characters outside the vocabulary as <c>&lt;0xXX&gt;</c> tokens.</param>
    /// <param name="unkId">The unknown token, for characters that have no other spelling.</param>
    /// <param name="fuseUnk">Consecutive unknown characters give one unknown token.</param>
    /// <param name="invalid">Builds the error for a malformed merge.</param>
    public BpeModel(Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, bool ignoreMerges,
        bool byteFallback, int? unkId, bool fuseUnk, Func<string, Exception> invalid)
    {
        _vocab = vocab;
        _invalid = invalid;
        _ignoreMerges = ignoreMerges;
        _unkId = unkId;
        _fuseUnk = fuseUnk;
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            if (!vocab.TryGetValue(left, out int l) || !vocab.TryGetValue(right, out int r))
                throw invalid($"model.merges[{rank}] (\"{left} {right}\") names a token that is not in model.vocab.");
            if (!vocab.TryGetValue(left + right, out int merged))
                throw invalid($"model.merges[{rank}] (\"{left} {right}\") makes \"{left + right}\", which is not in model.vocab.");
            _merges.TryAdd(Key(l, r), (rank, merged));
        }
        if (byteFallback)
        {
            var bytes = new int[256];
            for (int b = 0; b < 256; b++)
            {
                if (!vocab.TryGetValue(ByteToken((byte)b), out bytes[b]))
                {
                    bytes = null!;
                    break;
                }
            }
            _byteTokens = bytes;
        }
    }

    /// <summary>The spelling of a byte-fallback token, e.g. <c>&lt;0x0A&gt;</c>.</summary>
    public static string ByteToken(byte value) => "<0x" + value.ToString("X2", System.Globalization.CultureInfo.InvariantCulture) + ">";

    /// <summary>Appends the ids of <paramref name="word"/> (one pre-tokenized piece) to <paramref name="output"/>.</summary>
    public void Encode(string word, List<int> output)
    {
        if (word.Length == 0) return;
        if (_ignoreMerges && _vocab.TryGetValue(word, out int whole))
        {
            output.Add(whole);
            return;
        }
        bool cacheable = word.Length <= 64;
        if (cacheable)
        {
            lock (_cacheGate)
            {
                if (_cache.TryGetValue(word, out int[]? cached))
                {
                    output.AddRange(cached);
                    return;
                }
            }
        }
        var ids = Merge(InitialSymbols(word));
        if (cacheable)
        {
            lock (_cacheGate)
            {
                if (_cache.Count > 100_000) _cache.Clear();
                _cache[word] = ids;
            }
        }
        output.AddRange(ids);
    }

    private List<int> InitialSymbols(string word)
    {
        var symbols = new List<int>(word.Length);
        Span<byte> utf8 = stackalloc byte[4];
        bool previousUnknown = false;
        for (int i = 0; i < word.Length;)
        {
            int length = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            string character = word.Substring(i, length);
            i += length;
            if (_vocab.TryGetValue(character, out int id))
            {
                symbols.Add(id);
                previousUnknown = false;
            }
            else if (_byteTokens is not null)
            {
                int count = Encoding.UTF8.GetBytes(character, utf8);
                for (int b = 0; b < count; b++) symbols.Add(_byteTokens[utf8[b]]);
                previousUnknown = false;
            }
            else if (_unkId is int unk)
            {
                if (!(_fuseUnk && previousUnknown)) symbols.Add(unk);
                previousUnknown = true;
            }
            else
            {
                throw _invalid($"The character U+{char.ConvertToUtf32(character, 0):X4} is not in the vocabulary and the tokenizer has neither byte fallback nor an unknown token.");
            }
        }
        return symbols;
    }

    /// <summary>Applies the merges to <paramref name="symbols"/>: lowest rank first, then leftmost.</summary>
    private int[] Merge(List<int> symbols)
    {
        int n = symbols.Count;
        if (n < 2) return symbols.ToArray();
        var id = symbols.ToArray();
        var next = new int[n];
        var prev = new int[n];
        for (int i = 0; i < n; i++)
        {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        var alive = new bool[n];
        Array.Fill(alive, true);
        var queue = new PriorityQueue<int, long>();
        void Push(int left)
        {
            int right = next[left];
            if (right < 0 || !_merges.TryGetValue(Key(id[left], id[right]), out var merge)) return;
            queue.Enqueue(left, ((long)merge.Rank << 32) | (uint)left);
        }
        for (int i = 0; i + 1 < n; i++) Push(i);
        while (queue.TryDequeue(out int left, out long priority))
        {
            int right = next[left];
            if (!alive[left] || right < 0) continue;
            if (!_merges.TryGetValue(Key(id[left], id[right]), out var merge) || merge.Rank != (int)(priority >> 32)) continue;
            id[left] = merge.Id;
            alive[right] = false;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            if (prev[left] >= 0) Push(prev[left]);
            Push(left);
        }
        var result = new List<int>(n);
        for (int i = 0; i >= 0; i = next[i]) result.Add(id[i]);
        return result.ToArray();
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;
}
