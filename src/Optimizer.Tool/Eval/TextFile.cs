using System.Text;
using Optimizer.Engine;

namespace Optimizer.Tool.Eval;

/// <summary>
/// Reads an evaluation or calibration text file strictly: it must exist (<see cref="ErrorCodes.CliFileNotFound"/>),
/// be readable (<see cref="ErrorCodes.FileUnreadable"/>), be valid UTF-8 and not be empty
/// (<see cref="ErrorCodes.TextInvalid"/>, with the line and column of the first invalid byte). A UTF-8 byte-order mark
/// is dropped.
/// </summary>
public static class TextFile
{
    /// <summary>The largest text file accepted (1 GiB): the whole text is held in memory.</summary>
    public const long MaxBytes = 1L << 30;

    /// <summary>Reads <paramref name="path"/> as UTF-8 text.</summary>
    public static string Read(string path)
    {
        if (Directory.Exists(path))
            throw new OptimizerException(ErrorCodes.TextInvalid, "This is a folder, not a text file.", path);
        if (!File.Exists(path))
            throw new OptimizerException(ErrorCodes.CliFileNotFound, "The text file does not exist.", path);
        byte[] bytes;
        try
        {
            long length = new FileInfo(path).Length;
            if (length > MaxBytes)
                throw new OptimizerException(ErrorCodes.TextInvalid, $"The text file is too large ({length} bytes; at most {MaxBytes}).", path);
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptimizerException(ErrorCodes.FileUnreadable, $"The text file cannot be read: {ex.Message}", path, inner: ex);
        }
        return Decode(bytes, path);
    }

    /// <summary>Decodes <paramref name="bytes"/> strictly; <paramref name="path"/> is named in errors.</summary>
    public static string Decode(ReadOnlySpan<byte> bytes, string path)
    {
        ReadOnlySpan<byte> bom = [0xEF, 0xBB, 0xBF];
        if (bytes.StartsWith(bom)) bytes = bytes[bom.Length..];
        int invalid = FirstInvalidByte(bytes);
        if (invalid >= 0)
        {
            (int line, int column) = LineAndColumn(bytes[..invalid]);
            throw new OptimizerException(ErrorCodes.TextInvalid,
                $"The text is not valid UTF-8 (byte 0x{bytes[invalid]:X2} at offset {invalid}); save it as UTF-8.", path, line, column);
        }
        string text = Encoding.UTF8.GetString(bytes);
        if (string.IsNullOrWhiteSpace(text))
            throw new OptimizerException(ErrorCodes.TextInvalid, "The text file is empty.", path);
        return text;
    }

    /// <summary>Offset of the first byte that does not start a valid UTF-8 sequence, or -1.</summary>
    private static int FirstInvalidByte(ReadOnlySpan<byte> bytes)
    {
        int offset = 0;
        while (offset < bytes.Length)
        {
            var status = Rune.DecodeFromUtf8(bytes[offset..], out _, out int consumed);
            if (status != System.Buffers.OperationStatus.Done) return offset;
            offset += consumed;
        }
        return -1;
    }

    /// <summary>1-based line and column (in characters) just after <paramref name="prefix"/>, which is valid UTF-8.</summary>
    private static (int Line, int Column) LineAndColumn(ReadOnlySpan<byte> prefix)
    {
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < prefix.Length; i++)
        {
            if (prefix[i] == (byte)'\n')
            {
                line++;
                lineStart = i + 1;
            }
        }
        int column = Encoding.UTF8.GetCharCount(prefix[lineStart..]) + 1;
        return (line, column);
    }
}
