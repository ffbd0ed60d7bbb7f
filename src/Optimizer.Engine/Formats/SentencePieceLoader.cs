using Google.Protobuf;
using Microsoft.ML.Tokenizers;

namespace Optimizer.Engine.Formats;

/// <summary>
/// Loads a Llama-2 style SentencePiece <c>tokenizer.model</c> (a protobuf <c>ModelProto</c> of a BPE model with
/// byte-fallback pieces) through Microsoft.ML.Tokenizers' <see cref="LlamaTokenizer"/>.
/// </summary>
internal static class SentencePieceLoader
{
    /// <summary>The SentencePiece model file name.</summary>
    public const string FileName = "tokenizer.model";

    /// <summary>Loads <paramref name="path"/>; malformed or unsupported models fail with <see cref="ErrorCodes.TokenizerInvalid"/>.</summary>
    public static LoadedTokenizer Load(string path)
    {
        return Load(JsonFile.ReadAllBytes(path), path);
    }

    /// <summary>Loads a model held in memory (e.g. rebuilt from GGUF metadata); <paramref name="path"/> names its source.</summary>
    internal static LoadedTokenizer Load(byte[] bytes, string path)
    {
        if (bytes.Length == 0) throw new OptimizerException(ErrorCodes.TokenizerInvalid, "tokenizer.model is empty.", path);
        if (SentencePieceModelCheck.Problem(bytes) is string problem)
            throw new OptimizerException(ErrorCodes.TokenizerInvalid, $"tokenizer.model is not a usable SentencePiece model: {problem}.", path);
        SentencePieceTokenizer tokenizer;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            tokenizer = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or ArgumentException or InvalidOperationException
                                       or FormatException or KeyNotFoundException or IndexOutOfRangeException or OverflowException
                                       or NotSupportedException)
        {
            throw new OptimizerException(ErrorCodes.TokenizerInvalid, $"tokenizer.model is not a usable SentencePiece BPE model: {ex.Message}", path, inner: ex);
        }
        var vocab = tokenizer.Vocabulary;
        if (vocab.Count == 0) throw new OptimizerException(ErrorCodes.TokenizerInvalid, "tokenizer.model has no pieces.", path);
        var texts = new string?[vocab.Values.Max() + 1];
        foreach (var (piece, id) in vocab) texts[id] = PieceText(piece, tokenizer.ByteFallback);
        int? bos = Valid(tokenizer.BeginningOfSentenceId, texts);
        int? eos = Valid(tokenizer.EndOfSentenceId, texts);
        return new LoadedTokenizer(ModelTokenizer.SentencePieceKind, path,
            text => tokenizer.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false).ToArray(),
            ids => tokenizer.Decode(ids, considerSpecialTokens: true),
            texts, vocab, bos, eos);
    }

    private static int? Valid(int id, string?[] texts) => id >= 0 && id < texts.Length && texts[id] is not null ? id : null;

    private static string PieceText(string piece, bool byteFallback)
    {
        if (byteFallback && piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out byte value))
            return ModelTokenizer.RenderBytes(new[] { value });
        return piece.Replace('\u2581', ' ');
    }
}
