using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Optimizer.Engine.Calibration;

/// <summary>
/// The calibration token stream cut into equal-length sequences (each starting with BOS when the model has one), with
/// its provenance. Global token index <c>s * SequenceLength + p</c> is position p of sequence s.
/// </summary>
public sealed class CalibrationSet
{
    /// <summary>Creates a set; every sequence must have <paramref name="sequenceLength"/> tokens.</summary>
    public CalibrationSet(CalibrationSource source, IReadOnlyList<int[]> sequences, int sequenceLength, bool bos)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(sequences);
        if (sequences.Count == 0) throw new ArgumentException("A calibration set needs at least one sequence.", nameof(sequences));
        foreach (var s in sequences)
        {
            if (s is null || s.Length != sequenceLength)
                throw new ArgumentException($"Every calibration sequence must have {sequenceLength} tokens.", nameof(sequences));
        }
        Source = source;
        Sequences = sequences;
        SequenceLength = sequenceLength;
        Bos = bos;
        TokensSha256 = Hash(sequences);
    }

    /// <summary>Where the tokens came from.</summary>
    public CalibrationSource Source { get; }

    /// <summary>The sequences, in stream order.</summary>
    public IReadOnlyList<int[]> Sequences { get; }

    /// <summary>Tokens per sequence (BOS included).</summary>
    public int SequenceLength { get; }

    /// <summary>Whether every sequence starts with the model's BOS token.</summary>
    public bool Bos { get; }

    /// <summary>Tokens run through the model (BOS included).</summary>
    public long TokenCount => (long)Sequences.Count * SequenceLength;

    /// <summary>SHA-256 (lower-case hex) of the token ids as int32 little-endian, sequence after sequence.</summary>
    public string TokensSha256 { get; }

    /// <summary>The token id at global stream index <paramref name="tokenIndex"/>.</summary>
    public int TokenAt(long tokenIndex) => Sequences[(int)(tokenIndex / SequenceLength)][(int)(tokenIndex % SequenceLength)];

    private static string Hash(IReadOnlyList<int[]> sequences)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var sequence in sequences)
        {
            var buffer = new byte[sequence.Length * 4];
            for (int i = 0; i < sequence.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(i * 4), sequence[i]);
            sha.AppendData(buffer);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
