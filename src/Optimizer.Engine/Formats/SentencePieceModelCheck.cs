namespace Optimizer.Engine.Formats;

/// <summary>
/// Checks the protobuf wire structure of a SentencePiece <c>ModelProto</c> before it is handed to
/// Microsoft.ML.Tokenizers: well-formed fields throughout, at least one piece, a trainer spec whose model type is BPE
/// (the only type <c>LlamaTokenizer</c> runs) and a normalizer spec. Returns a reason, or null when the model fits.
/// </summary>
internal static class SentencePieceModelCheck
{
    private const int PiecesField = 1, TrainerSpecField = 2, NormalizerSpecField = 3, ModelTypeField = 3;
    private const ulong Bpe = 2;
    private static readonly string[] ModelTypeNames = { "?", "Unigram", "BPE", "Word", "Char" };

    public static string? Problem(ReadOnlySpan<byte> model)
    {
        int pieces = 0;
        bool hasNormalizer = false;
        int trainerStart = 0, trainerLength = 0;
        bool hasTrainer = false;
        int position = 0;
        while (position < model.Length)
        {
            int fieldStart = position;
            if (!TryReadField(model, ref position, out int field, out int wireType, out int bodyStart, out int bodyLength, out _))
                return $"the protobuf data is malformed at byte offset {fieldStart}";
            if (wireType != 2) continue;
            switch (field)
            {
                case PiecesField: pieces++; break;
                case TrainerSpecField: (trainerStart, trainerLength, hasTrainer) = (bodyStart, bodyLength, true); break;
                case NormalizerSpecField: hasNormalizer = true; break;
            }
        }
        if (pieces == 0) return "it has no pieces";
        if (!hasTrainer) return "it has no trainer_spec";
        if (!hasNormalizer) return "it has no normalizer_spec";
        ulong modelType = 1;
        var trainer = model.Slice(trainerStart, trainerLength);
        int at = 0;
        while (at < trainer.Length)
        {
            if (!TryReadField(trainer, ref at, out int field, out int wireType, out _, out _, out ulong value))
                return "its trainer_spec is malformed";
            if (field == ModelTypeField && wireType == 0) modelType = value;
        }
        if (modelType != Bpe)
            return $"its model type is {(modelType < (ulong)ModelTypeNames.Length ? ModelTypeNames[modelType] : modelType.ToString(System.Globalization.CultureInfo.InvariantCulture))}; only BPE SentencePiece models (Llama 2 style) are supported";
        return null;
    }

    private static bool TryReadField(ReadOnlySpan<byte> data, ref int position, out int field, out int wireType,
                                     out int bodyStart, out int bodyLength, out ulong value)
    {
        bodyStart = 0;
        bodyLength = 0;
        value = 0;
        field = 0;
        wireType = 0;
        if (!TryReadVarint(data, ref position, out ulong tag) || tag >> 3 == 0 || tag >> 3 > int.MaxValue) return false;
        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        switch (wireType)
        {
            case 0:
                return TryReadVarint(data, ref position, out value);
            case 1:
                return Skip(data, ref position, 8);
            case 5:
                return Skip(data, ref position, 4);
            case 2:
                if (!TryReadVarint(data, ref position, out ulong length) || length > (ulong)(data.Length - position)) return false;
                bodyStart = position;
                bodyLength = (int)length;
                position += bodyLength;
                return true;
            default:
                return false;
        }
    }

    private static bool Skip(ReadOnlySpan<byte> data, ref int position, int count)
    {
        if (data.Length - position < count) return false;
        position += count;
        return true;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> data, ref int position, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length) return false;
            byte b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return true;
        }
        return false;
    }
}
