using System.Text;
using System.Text.RegularExpressions;

namespace Optimizer.Engine.Formats.Tokenizers;

/// <summary>A normalizer step of a <c>tokenizer.json</c> (docs/tokenizers.md): NFC, a literal Replace, or Prepend.</summary>
internal abstract record NormalizerStep
{
    public abstract string Apply(string text);

    public sealed record Nfc : NormalizerStep
    {
        public override string Apply(string text) => text.Normalize(NormalizationForm.FormC);
    }

    public sealed record Replace(string Pattern, string Content) : NormalizerStep
    {
        public override string Apply(string text) => text.Replace(Pattern, Content, StringComparison.Ordinal);
    }

    public sealed record Prepend(string Prefix) : NormalizerStep
    {
        public override string Apply(string text) => text.Length == 0 ? text : Prefix + text;
    }
}

/// <summary>How a <c>Split</c> pre-tokenizer treats the pieces its pattern matches.</summary>
internal enum SplitBehavior
{
    Isolated,
    Removed,
    MergedWithPrevious,
    MergedWithNext,
}

/// <summary>A pre-tokenizer step of a <c>tokenizer.json</c>: a regex or literal split, the byte-level mapping, or Metaspace.</summary>
internal abstract record PreTokenizerStep
{
    public abstract void Apply(List<string> pieces, bool first);

    /// <summary>Splits every piece where <see cref="Pattern"/> matches.</summary>
    public sealed record Split(Regex Pattern, SplitBehavior Behavior) : PreTokenizerStep
    {
        public override void Apply(List<string> pieces, bool first)
        {
            var result = new List<string>(pieces.Count * 2);
            foreach (string piece in pieces) SplitOne(piece, result);
            pieces.Clear();
            pieces.AddRange(result);
        }

        private void SplitOne(string piece, List<string> output)
        {
            int last = 0;
            string pending = "";
            foreach (Match m in Pattern.Matches(piece))
            {
                if (m.Length == 0) continue;
                string gap = piece[last..m.Index];
                string match = m.Value;
                last = m.Index + m.Length;
                switch (Behavior)
                {
                    case SplitBehavior.Isolated:
                        Add(output, gap);
                        Add(output, match);
                        break;
                    case SplitBehavior.Removed:
                        Add(output, gap);
                        break;
                    case SplitBehavior.MergedWithPrevious:
                        Add(output, gap + match);
                        break;
                    case SplitBehavior.MergedWithNext:
                        Add(output, pending + gap);
                        pending = match;
                        break;
                }
            }
            Add(output, pending + piece[last..]);
        }

        private static void Add(List<string> output, string piece)
        {
            if (piece.Length > 0) output.Add(piece);
        }
    }

    /// <summary>Maps every piece's UTF-8 bytes to GPT-2's byte characters (after an optional GPT-2 regex split).</summary>
    public sealed record ByteLevel(Regex? Pattern) : PreTokenizerStep
    {
        private static readonly char[] Map = ByteLevelVocabulary.ByteToUnicode();

        public override void Apply(List<string> pieces, bool first)
        {
            if (Pattern is not null) new Split(Pattern, SplitBehavior.Isolated).Apply(pieces, first);
            for (int i = 0; i < pieces.Count; i++) pieces[i] = Encode(pieces[i]);
        }

        public static string Encode(string text)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            var chars = new char[bytes.Length];
            for (int i = 0; i < bytes.Length; i++) chars[i] = Map[bytes[i]];
            return new string(chars);
        }
    }

    /// <summary>Replaces spaces by <see cref="Replacement"/> and prepends one (always, or to the first piece of the text).</summary>
    public sealed record Metaspace(string Replacement, string PrependScheme) : PreTokenizerStep
    {
        public override void Apply(List<string> pieces, bool first)
        {
            for (int i = 0; i < pieces.Count; i++)
            {
                string piece = pieces[i].Replace(" ", Replacement, StringComparison.Ordinal);
                bool prepend = PrependScheme == "always" || (PrependScheme == "first" && first && i == 0);
                if (prepend && !piece.StartsWith(Replacement, StringComparison.Ordinal)) piece = Replacement + piece;
                pieces[i] = piece;
            }
        }
    }
}

/// <summary>An added token of a <c>tokenizer.json</c>, matched as a whole in the input text before anything else.</summary>
internal sealed record AddedToken(string Content, int Id, bool Special, bool LStrip, bool RStrip, bool Normalized);

/// <summary>
/// Finds added tokens in text: leftmost match first, the longest one at that position (as Hugging Face's added
/// vocabulary does); <c>lstrip</c>/<c>rstrip</c> tokens take the whitespace on their left/right with them.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private sealed class Node
    {
        public Dictionary<char, Node>? Children;
        public AddedToken? Token;
    }

    private readonly Node _root = new();

    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        foreach (var token in tokens)
        {
            var node = _root;
            foreach (char c in token.Content)
            {
                node.Children ??= new Dictionary<char, Node>();
                if (!node.Children.TryGetValue(c, out var child)) node.Children[c] = child = new Node();
                node = child;
            }
            node.Token ??= token;
        }
    }

    public bool IsEmpty => _root.Children is null;

    /// <summary>The text split into plain pieces (Token null) and added tokens, in order.</summary>
    public List<(string Text, AddedToken? Token)> Split(string text)
    {
        var parts = new List<(string, AddedToken?)>();
        int plainStart = 0;
        int i = 0;
        while (i < text.Length)
        {
            var (token, length) = LongestAt(text, i);
            if (token is null)
            {
                i++;
                continue;
            }
            int start = i, end = i + length;
            if (token.LStrip)
            {
                while (start > plainStart && char.IsWhiteSpace(text[start - 1])) start--;
            }
            if (token.RStrip)
            {
                while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
            }
            if (start > plainStart) parts.Add((text[plainStart..start], null));
            parts.Add((token.Content, token));
            plainStart = i = end;
        }
        if (plainStart < text.Length) parts.Add((text[plainStart..], null));
        return parts;
    }

    private (AddedToken? Token, int Length) LongestAt(string text, int start)
    {
        var node = _root;
        AddedToken? best = null;
        int bestLength = 0;
        for (int i = start; i < text.Length; i++)
        {
            if (node.Children is null || !node.Children.TryGetValue(text[i], out var child)) break;
            node = child;
            if (node.Token is not null)
            {
                best = node.Token;
                bestLength = i - start + 1;
            }
        }
        return (best, bestLength);
    }
}
