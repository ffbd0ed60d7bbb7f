using Google.Protobuf;

namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// The parts of a SentencePiece <c>ModelProto</c> (sentencepiece_model.proto) that GGUF carries: the pieces with their
/// scores and types, and the unk/bos/eos ids of the trainer spec. Reads them from a <c>tokenizer.model</c> and writes
/// a Llama-2 style model (BPE, byte fallback, dummy prefix) back from them.
/// </summary>
internal static class SentencePieceProto
{
    /// <summary>SentencePiece piece types; GGUF's <c>tokenizer.ggml.token_type</c> uses the same numbers.</summary>
    public const int Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6;

    private const int PiecesField = 1, TrainerField = 2, NormalizerField = 3;

    /// <summary>A model's pieces in id order and its special ids (-1 when unset).</summary>
    public sealed record Model(string[] Pieces, float[] Scores, int[] Types, int UnkId, int BosId, int EosId, int PadId);

    /// <summary>Reads <paramref name="bytes"/>; malformed data fails with <see cref="ErrorCodes.TokenizerInvalid"/>.</summary>
    public static Model Read(byte[] bytes, string path)
    {
        var pieces = new List<string>();
        var scores = new List<float>();
        var types = new List<int>();
        int unk = 0, bos = 1, eos = 2, pad = -1;
        try
        {
            var input = new CodedInputStream(bytes);
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                int field = WireFormat.GetTagFieldNumber(tag);
                if (field == PiecesField && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                {
                    var piece = new CodedInputStream(input.ReadBytes().ToByteArray());
                    string text = "";
                    float score = 0;
                    int type = Normal;
                    uint inner;
                    while ((inner = piece.ReadTag()) != 0)
                    {
                        switch (WireFormat.GetTagFieldNumber(inner))
                        {
                            case 1: text = piece.ReadString(); break;
                            case 2: score = piece.ReadFloat(); break;
                            case 3: type = piece.ReadEnum(); break;
                            default: piece.SkipLastField(); break;
                        }
                    }
                    pieces.Add(text);
                    scores.Add(score);
                    types.Add(type);
                }
                else if (field == TrainerField && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                {
                    var trainer = new CodedInputStream(input.ReadBytes().ToByteArray());
                    uint inner;
                    while ((inner = trainer.ReadTag()) != 0)
                    {
                        switch (WireFormat.GetTagFieldNumber(inner))
                        {
                            case 40: unk = trainer.ReadInt32(); break;
                            case 41: bos = trainer.ReadInt32(); break;
                            case 42: eos = trainer.ReadInt32(); break;
                            case 43: pad = trainer.ReadInt32(); break;
                            default: trainer.SkipLastField(); break;
                        }
                    }
                }
                else
                {
                    input.SkipLastField();
                }
            }
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new OptimizerException(ErrorCodes.TokenizerInvalid, $"tokenizer.model is not a valid SentencePiece model: {ex.Message}", path, inner: ex);
        }
        if (pieces.Count == 0) throw new OptimizerException(ErrorCodes.TokenizerInvalid, "tokenizer.model has no pieces.", path);
        return new Model(pieces.ToArray(), scores.ToArray(), types.ToArray(), unk, bos, eos, pad);
    }

    /// <summary>Writes a Llama-2 style BPE <c>ModelProto</c> with byte fallback for <paramref name="model"/>.</summary>
    public static byte[] Write(Model model)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        for (int i = 0; i < model.Pieces.Length; i++)
        {
            using var piece = new MemoryStream();
            var p = new CodedOutputStream(piece);
            p.WriteTag(1, WireFormat.WireType.LengthDelimited);
            p.WriteString(model.Pieces[i]);
            p.WriteTag(2, WireFormat.WireType.Fixed32);
            p.WriteFloat(model.Scores[i]);
            p.WriteTag(3, WireFormat.WireType.Varint);
            p.WriteEnum(model.Types[i]);
            p.Flush();
            output.WriteTag(PiecesField, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(piece.ToArray()));
        }
        using (var trainer = new MemoryStream())
        {
            var t = new CodedOutputStream(trainer);
            WriteVarint(t, 3, 2);                     // model_type = BPE
            WriteVarint(t, 4, model.Pieces.Length);   // vocab_size
            WriteVarint(t, 35, 1);                    // byte_fallback
            WriteVarint(t, 40, model.UnkId);
            WriteVarint(t, 41, model.BosId);
            WriteVarint(t, 42, model.EosId);
            WriteVarint(t, 43, model.PadId);
            t.Flush();
            output.WriteTag(TrainerField, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(trainer.ToArray()));
        }
        using (var normalizer = new MemoryStream())
        {
            var n = new CodedOutputStream(normalizer);
            n.WriteTag(1, WireFormat.WireType.LengthDelimited);
            n.WriteString("identity");
            WriteVarint(n, 3, 1);                     // add_dummy_prefix
            WriteVarint(n, 4, 0);                     // remove_extra_whitespaces
            WriteVarint(n, 5, 1);                     // escape_whitespaces
            n.Flush();
            output.WriteTag(NormalizerField, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(normalizer.ToArray()));
        }
        output.Flush();
        return buffer.ToArray();
    }

    private static void WriteVarint(CodedOutputStream stream, int field, int value)
    {
        stream.WriteTag(field, WireFormat.WireType.Varint);
        stream.WriteInt32(value);
    }
}
