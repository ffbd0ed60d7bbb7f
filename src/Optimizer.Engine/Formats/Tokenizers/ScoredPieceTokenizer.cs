using Optimizer.Engine.Formats.Gguf;

namespace Optimizer.Engine.Formats.Tokenizers;

/// <summary>
/// A SentencePiece BPE vocabulary given as scored pieces (llama.cpp's <c>llama</c> GGUF tokenizer) as a runnable
/// SentencePiece-style <see cref="HfTokenizerJson"/> (docs/tokenizers.md): llama.cpp merges the adjacent pair whose
/// concatenation is the highest-scoring piece first, so every split of a piece into two pieces becomes a merge, ranked
/// by the merged piece's score (highest first). Control and user-defined pieces are matched whole in the text, as
/// llama.cpp does; <c>add_space_prefix</c> puts <c>▁</c> before every piece of text.
/// </summary>
internal static class ScoredPieceTokenizer
{
    public static LoadedTokenizer Build(string path, string[] tokens, int[] types, float[] scores, int? unkId, bool addSpacePrefix)
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var added = new List<AddedToken>();
        for (int id = 0; id < tokens.Length; id++)
        {
            int type = types[id];
            if (type == SentencePieceProto.Unused) continue;
            if (type is SentencePieceProto.Control or SentencePieceProto.UserDefined)
                added.Add(new AddedToken(tokens[id], id, Special: type == SentencePieceProto.Control, LStrip: false, RStrip: false, Normalized: false));
            if (type != SentencePieceProto.Control && !vocab.TryAdd(tokens[id], id))
                throw new OptimizerException(ErrorCodes.GgufTokenizerUnsupported, $"Token \"{tokens[id]}\" appears twice in '{GgufKeys.Tokens}'.", path);
        }
        var candidates = new List<(float Score, int Id, int Left, int Right, string LeftText, string RightText)>();
        foreach (var (token, id) in vocab)
        {
            if (types[id] is not (SentencePieceProto.Normal or SentencePieceProto.UserDefined) || token.Length < 2) continue;
            for (int split = 1; split < token.Length; split++)
            {
                if (char.IsLowSurrogate(token[split])) continue;
                string left = token[..split], right = token[split..];
                if (vocab.TryGetValue(left, out int l) && vocab.TryGetValue(right, out int r))
                    candidates.Add((scores[id], id, l, r, left, right));
            }
        }
        candidates.Sort((a, b) =>
        {
            int c = b.Score.CompareTo(a.Score);
            if (c != 0) return c;
            c = a.Id.CompareTo(b.Id);
            if (c != 0) return c;
            c = a.Left.CompareTo(b.Left);
            return c != 0 ? c : a.Right.CompareTo(b.Right);
        });
        bool byteFallback = Enumerable.Range(0, 256).All(b => vocab.ContainsKey(BpeModel.ByteToken((byte)b)));
        var normalizers = new List<NormalizerStep>();
        if (addSpacePrefix) normalizers.Add(new NormalizerStep.Prepend(HfTokenizerJson.SpaceMarker));
        normalizers.Add(new NormalizerStep.Replace(" ", HfTokenizerJson.SpaceMarker));
        var spec = new HfTokenizerJson
        {
            Path = path,
            ByteLevel = false,
            Vocab = vocab,
            Merges = candidates.Select(c => (c.LeftText, c.RightText)).ToList(),
            Added = added,
            IgnoreMerges = false,
            ByteFallback = byteFallback,
            FuseUnk = true,
            UnkId = unkId is int u && u >= 0 && u < tokens.Length ? u : null,
            SplitPattern = null,
            Normalizers = normalizers,
            PreTokenizers = new(),
            AddsSpacePrefix = addSpacePrefix,
            DecoderStripsLeading = addSpacePrefix ? 1 : 0,
            HasTemplate = false,
            TemplateLeadingSpecial = null,
            TemplateTrailingSpecial = null,
        };
        return ByteLevelBpeLoader.FromSpec(spec);
    }
}
