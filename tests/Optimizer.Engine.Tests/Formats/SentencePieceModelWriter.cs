using System.Text;

namespace Optimizer.Engine.Tests.Formats;

/// <summary>
/// Writes a small SentencePiece <c>ModelProto</c> (sentencepiece_model.proto) in protobuf wire format, Llama-2 style:
/// &lt;unk&gt;/&lt;s&gt;/&lt;/s&gt;, the 256 byte-fallback pieces &lt;0x00&gt;..&lt;0xFF&gt;, then scored pieces; a BPE trainer spec with
/// byte fallback and the unk/bos/eos ids; a normalizer spec with a dummy prefix and whitespace kept as is.
/// </summary>
internal static class SentencePieceModelWriter
{
    private const int Normal = 1, Unknown = 2, Control = 3, Byte = 6;

    /// <summary>Pieces after the byte pieces, best (highest score) first.</summary>
    public static readonly string[] Pieces =
    {
        "▁", "e", "t", "h", "l", "o", "w", "r", "d", "a", "n", "i", "s", "c", "u",
        "▁t", "he", "▁the", "ll", "▁he", "llo", "▁hello", "▁w", "or", "▁wor", "ld", "▁world", "in", "▁a", "an", "▁and",
    };

    /// <summary>Id of the first piece of <see cref="Pieces"/>.</summary>
    public const int FirstPieceId = 3 + 256;

    public static byte[] Build()
    {
        var model = new MemoryStream();
        Message(model, 1, Piece("<unk>", 0, Unknown));
        Message(model, 1, Piece("<s>", 0, Control));
        Message(model, 1, Piece("</s>", 0, Control));
        for (int b = 0; b < 256; b++) Message(model, 1, Piece($"<0x{b:X2}>", 0, Byte));
        for (int i = 0; i < Pieces.Length; i++) Message(model, 1, Piece(Pieces[i], -1 - i, Normal));

        var trainer = new MemoryStream();
        Varint(trainer, 3, 2);                                  // model_type = BPE
        Varint(trainer, 4, (ulong)(FirstPieceId + Pieces.Length)); // vocab_size
        Varint(trainer, 35, 1);                                 // byte_fallback
        Varint(trainer, 40, 0);                                 // unk_id
        Varint(trainer, 41, 1);                                 // bos_id
        Varint(trainer, 42, 2);                                 // eos_id
        Varint(trainer, 43, unchecked((ulong)-1L));             // pad_id = -1
        Message(model, 2, trainer.ToArray());

        var normalizer = new MemoryStream();
        Bytes(normalizer, 1, Encoding.UTF8.GetBytes("identity"));
        Varint(normalizer, 3, 1);                               // add_dummy_prefix
        Varint(normalizer, 4, 0);                               // remove_extra_whitespaces
        Varint(normalizer, 5, 1);                               // escape_whitespaces
        Message(model, 3, normalizer.ToArray());
        return model.ToArray();
    }

    private static byte[] Piece(string piece, float score, int type)
    {
        var m = new MemoryStream();
        Bytes(m, 1, Encoding.UTF8.GetBytes(piece));
        Tag(m, 2, 5);
        m.Write(BitConverter.GetBytes(score));
        Varint(m, 3, (ulong)type);
        return m.ToArray();
    }

    private static void Message(Stream s, int field, byte[] body) => Bytes(s, field, body);

    private static void Bytes(Stream s, int field, byte[] body)
    {
        Tag(s, field, 2);
        Raw(s, (ulong)body.Length);
        s.Write(body);
    }

    private static void Varint(Stream s, int field, ulong value)
    {
        Tag(s, field, 0);
        Raw(s, value);
    }

    private static void Tag(Stream s, int field, int wireType) => Raw(s, (ulong)((field << 3) | wireType));

    private static void Raw(Stream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        s.WriteByte((byte)value);
    }
}
