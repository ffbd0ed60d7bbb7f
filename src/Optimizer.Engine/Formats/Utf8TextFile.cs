using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Optimizer.Engine.Formats;

/// <summary>
/// Reads a text input (calibration or evaluation text) strictly: it must be readable
/// (<see cref="ErrorCodes.FileUnreadable"/>), valid UTF-8 (<see cref="ErrorCodes.TextInvalid"/> with the line and column
/// of the first invalid byte) and not empty or blank (<see cref="ErrorCodes.TextInvalid"/>). A UTF-8 byte-order mark is
/// dropped. Returns the text, the file size and its SHA-256.
/// </summary>
public static class Utf8TextFile
{
    /// <summary>The largest file accepted (1 GiB): the whole text is held in memory.</summary>
    public const long MaxBytes = 1L << 30;

    /// <param name="path">The file to read.</param>
    /// <param name="shownAs">How errors name the file.</param>
    /// <param name="what">What the text is, for messages (e.g. "calibration text", "text file").</param>
    public static (string Text, long Bytes, string Sha256) Read(string path, string shownAs, string what)
    {
        byte[] bytes;
        // Named by its full path: a relative display name would not say which /dev or pipe was meant.
        FileKind.RequireRegular(path, what, ErrorCodes.CalibrationPathMissing);
        try
        {
            long length = new FileInfo(path).Length;
            if (length > MaxBytes)
                throw new OptimizerException(ErrorCodes.TextInvalid, $"The {what} is too large ({length} bytes; at most {MaxBytes}).", shownAs);
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptimizerException(ErrorCodes.FileUnreadable, $"The {what} cannot be read: {ex.Message}", shownAs, inner: ex);
        }
        string sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        ReadOnlySpan<byte> content = bytes;
        ReadOnlySpan<byte> bom = [0xEF, 0xBB, 0xBF];
        if (content.StartsWith(bom)) content = content[bom.Length..];
        int offset = 0;
        while (offset < content.Length)
        {
            if (Rune.DecodeFromUtf8(content[offset..], out _, out int consumed) != OperationStatus.Done)
            {
                var (line, column) = LineAndColumn(content[..offset]);
                throw new OptimizerException(ErrorCodes.TextInvalid,
                    $"The {what} is not valid UTF-8 (byte 0x{content[offset]:X2} at offset {offset + bytes.Length - content.Length}); save it as UTF-8.",
                    shownAs, line, column);
            }
            offset += consumed;
        }
        string text = Encoding.UTF8.GetString(content);
        if (string.IsNullOrWhiteSpace(text))
            throw new OptimizerException(ErrorCodes.TextInvalid, $"The {what} is empty.", shownAs);
        return (text, bytes.Length, sha);
    }

    /// <summary>1-based line and column (in UTF-16 characters) just after <paramref name="prefix"/>, which is valid UTF-8.</summary>
    private static (int Line, int Column) LineAndColumn(ReadOnlySpan<byte> prefix)
    {
        int line = 1, lineStart = 0;
        for (int i = 0; i < prefix.Length; i++)
        {
            if (prefix[i] == (byte)'\n')
            {
                line++;
                lineStart = i + 1;
            }
        }
        return (line, Encoding.UTF8.GetCharCount(prefix[lineStart..]) + 1);
    }
}
