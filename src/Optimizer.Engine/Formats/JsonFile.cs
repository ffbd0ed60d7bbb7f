using System.Text.Json;

namespace Optimizer.Engine.Formats;

/// <summary>
/// Reads a JSON file into a <see cref="JsonDocument"/>, turning read and syntax failures into
/// <see cref="OptimizerException"/>s that carry the file and the 1-based line and column of the error.
/// </summary>
internal static class JsonFile
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 128 };

    /// <summary>Parses <paramref name="path"/>; <paramref name="invalidCode"/> is used for syntax errors.</summary>
    public static JsonDocument Parse(string path, string invalidCode, string description)
    {
        byte[] bytes = ReadAllBytes(path);
        try
        {
            return JsonDocument.Parse(bytes, Options);
        }
        catch (JsonException ex)
        {
            throw Invalid(ex, invalidCode, $"{description} is not valid JSON", path);
        }
    }

    /// <summary>The largest JSON or tokenizer file read whole (512 MiB; real tokenizer files are tens of MB).</summary>
    public const long MaxBytes = 512L << 20;

    /// <summary>
    /// Reads a whole regular file of at most <see cref="MaxBytes"/>, mapping I/O failures to
    /// <see cref="ErrorCodes.FileUnreadable"/> (a FIFO, device or folder is <see cref="ErrorCodes.InputNotRegularFile"/>).
    /// </summary>
    public static byte[] ReadAllBytes(string path) => ReadAllBytes(path, "file", MaxBytes, ErrorCodes.FileUnreadable);

    /// <summary>
    /// Reads a whole regular file of at most <paramref name="maxBytes"/> (a larger one is <paramref name="tooLargeCode"/>);
    /// <paramref name="what"/> names it in messages ("manifest file").
    /// </summary>
    public static byte[] ReadAllBytes(string path, string what, long maxBytes, string tooLargeCode)
    {
        FileKind.RequireRegular(path, what, ErrorCodes.FileUnreadable);
        try
        {
            long length = new FileInfo(path).Length;
            if (length > maxBytes)
                throw new OptimizerException(tooLargeCode, $"The {what} is {length} bytes; at most {maxBytes} are read.", path);
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptimizerException(ErrorCodes.FileUnreadable, $"The file cannot be read: {ex.Message}", path, inner: ex);
        }
    }

    /// <summary>An exception for a JSON syntax error, positioned at the reader's line and column.</summary>
    public static OptimizerException Invalid(JsonException ex, string code, string what, string path)
    {
        int line = ex.LineNumber is long l ? checked((int)l + 1) : 0;
        int column = ex.BytePositionInLine is long c ? checked((int)c + 1) : 0;
        return new OptimizerException(code, $"{what}: {Describe(ex)}", path, line, column, ex);
    }

    /// <summary>The parser's message without its trailing "Path: ... | LineNumber: ..." part.</summary>
    public static string Describe(JsonException ex)
    {
        string message = ex.Message;
        int cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut < 0) cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd();
    }

    /// <summary>The string value of a property, or null when absent or not a string.</summary>
    public static string? GetString(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
