using System.Text;
using System.Text.Json;
using Optimizer.Engine;
using Optimizer.Engine.Formats;

namespace Optimizer.Tool.Optimize;

/// <summary>
/// Reads the machine-mode options file (<c>--options-file</c>): a JSON object whose keys are the optimize options'
/// camelCase names (<see cref="OptimizeOptionNames"/>) and whose values are strings (numbers for numeric options,
/// an array of strings for <c>calibration</c>). Errors carry the file, line and column: invalid JSON
/// <see cref="ErrorCodes.OptionsFileInvalid"/>, an unknown or repeated key <see cref="ErrorCodes.OptionsFileUnknownKey"/>,
/// a value of the wrong type <see cref="ErrorCodes.OptionsFileBadValue"/>, an unreadable file <see cref="ErrorCodes.OptionsFileUnreadable"/>.
/// </summary>
public static class OptimizeOptionsFile
{
    /// <summary>The largest options file accepted.</summary>
    public const long MaxBytes = 1 << 20;

    /// <summary>Reads and checks <paramref name="path"/>.</summary>
    public static OptimizeRequest Load(string path)
    {
        byte[] bytes;
        try
        {
            if (Directory.Exists(path)) throw new OptimizerException(ErrorCodes.OptionsFileUnreadable, "The options file is a folder, not a file.", path);
            if (!File.Exists(path)) throw new OptimizerException(ErrorCodes.OptionsFileUnreadable, "The options file does not exist.", path);
            FileKind.RequireRegular(path, "options file", ErrorCodes.OptionsFileUnreadable);
            if (new FileInfo(path).Length > MaxBytes)
                throw new OptimizerException(ErrorCodes.OptionsFileUnreadable, $"The options file is larger than {MaxBytes} bytes.", path);
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptimizerException(ErrorCodes.OptionsFileUnreadable, $"The options file cannot be read: {ex.Message}", path, inner: ex);
        }
        return Parse(bytes, path);
    }

    /// <summary>Parses options-file bytes; <paramref name="path"/> is named in errors and anchors relative paths.</summary>
    public static OptimizeRequest Parse(ReadOnlySpan<byte> bytes, string path)
    {
        if (bytes.StartsWith(Encoding.UTF8.Preamble)) bytes = bytes[3..];
        var lines = new LineMap(bytes);
        var request = new OptimizeRequest(path);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw Error(ErrorCodes.OptionsFileInvalid, "The options file must hold one JSON object.", path, lines, reader.TokenStartIndex);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                long keyAt = reader.TokenStartIndex;
                string key = reader.GetString()!;
                if (!OptimizeOptionNames.All.Contains(key, StringComparer.Ordinal))
                {
                    string? close = OptimizeOptionNames.All.FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase));
                    string hint = close is not null ? $" Did you mean '{close}'?" : $" The keys are: {string.Join(", ", OptimizeOptionNames.All)}.";
                    throw Error(ErrorCodes.OptionsFileUnknownKey, $"Unknown option '{key}'.{hint}", path, lines, keyAt);
                }
                if (!seen.Add(key)) throw Error(ErrorCodes.OptionsFileUnknownKey, $"The option '{key}' is given twice.", path, lines, keyAt);
                reader.Read();
                if (key == OptimizeOptionNames.Calibration) ReadCalibration(ref reader, request, path, lines);
                else request.Set(key, ReadScalar(ref reader, key, path, lines));
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                throw Error(ErrorCodes.OptionsFileInvalid, "Unexpected content after the options object.", path, lines, reader.TokenStartIndex);
        }
        catch (JsonException ex)
        {
            int line = (int)(ex.LineNumber ?? 0) + 1;
            int column = (int)(ex.BytePositionInLine ?? 0) + 1;
            throw new OptimizerException(ErrorCodes.OptionsFileInvalid, $"The options file is not valid JSON: {FirstSentence(ex.Message)}", path, line, column, ex);
        }
        return request;
    }

    private static RequestValue ReadScalar(ref Utf8JsonReader reader, string key, string path, LineMap lines)
    {
        var (line, column) = lines.At(reader.TokenStartIndex);
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return new RequestValue(reader.GetString()!, line, column);
            case JsonTokenType.Number when OptimizeOptionNames.Numeric.Contains(key):
                return new RequestValue(Encoding.UTF8.GetString(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan.ToArray()), line, column);
            default:
                string expected = OptimizeOptionNames.Numeric.Contains(key) ? "a number or a string" : "a string";
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) reader.Skip();
                throw new OptimizerException(ErrorCodes.OptionsFileBadValue, $"'{key}' must be {expected}, not {Describe(reader.TokenType)}.", path, line, column);
        }
    }

    private static void ReadCalibration(ref Utf8JsonReader reader, OptimizeRequest request, string path, LineMap lines)
    {
        var (line, column) = lines.At(reader.TokenStartIndex);
        if (reader.TokenType == JsonTokenType.String)
        {
            request.Calibration.Add(new RequestValue(reader.GetString()!, line, column));
            return;
        }
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            if (reader.TokenType == JsonTokenType.StartObject) reader.Skip();
            throw new OptimizerException(ErrorCodes.OptionsFileBadValue, $"'calibration' must be an array of paths, not {Describe(reader.TokenType)}.", path, line, column);
        }
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var (itemLine, itemColumn) = lines.At(reader.TokenStartIndex);
            if (reader.TokenType != JsonTokenType.String)
                throw new OptimizerException(ErrorCodes.OptionsFileBadValue, $"Every 'calibration' entry must be a path string, not {Describe(reader.TokenType)}.", path, itemLine, itemColumn);
            request.Calibration.Add(new RequestValue(reader.GetString()!, itemLine, itemColumn));
        }
    }

    private static string Describe(JsonTokenType type) => type switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.String => "a string",
        _ => type.ToString().ToLowerInvariant(),
    };

    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).Trim();
    }

    private static OptimizerException Error(string code, string message, string path, LineMap lines, long offset)
    {
        var (line, column) = lines.At(offset);
        return new OptimizerException(code, message, path, line, column);
    }

    /// <summary>Byte offset → 1-based line and column (columns count characters, not bytes).</summary>
    private sealed class LineMap
    {
        private readonly byte[] _bytes;
        private readonly List<int> _starts = new() { 0 };

        public LineMap(ReadOnlySpan<byte> bytes)
        {
            _bytes = bytes.ToArray();
            for (int i = 0; i < _bytes.Length; i++)
            {
                if (_bytes[i] == (byte)'\n') _starts.Add(i + 1);
            }
        }

        public (int Line, int Column) At(long offset)
        {
            int at = (int)Math.Clamp(offset, 0, _bytes.Length);
            int index = _starts.BinarySearch(at);
            int line = index >= 0 ? index : ~index - 1;
            int start = _starts[line];
            int column = Encoding.UTF8.GetCharCount(_bytes, start, at - start) + 1;
            return (line + 1, column);
        }
    }
}
