using System.Globalization;
using System.Text;

namespace Optimizer.Tasks;

/// <summary>
/// The options file of <c>dotnet-outlier-opt optimize --options-file</c>: a JSON object whose keys are the tool's long
/// option names in camelCase, written one key per line (so an error the tool reports at a line names one option) in a
/// fixed order, UTF-8 without BOM, through a temporary file and a rename. Empty values are left out (the tool's
/// defaults apply).
/// </summary>
public sealed class OptionsFile
{
    private readonly List<KeyValuePair<string, object>> _entries = new();

    /// <summary>Adds a string option unless <paramref name="value"/> is null or blank.</summary>
    public OptionsFile Add(string key, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value)) _entries.Add(new KeyValuePair<string, object>(key, value!.Trim()));
        return this;
    }

    /// <summary>Adds an array option unless it is empty.</summary>
    public OptionsFile Add(string key, IReadOnlyList<string> values)
    {
        var kept = values.Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v.Trim()).ToArray();
        if (kept.Length > 0) _entries.Add(new KeyValuePair<string, object>(key, kept));
        return this;
    }

    /// <summary>The option keys in file order; the key of line <c>n</c> (1-based) is at index <c>n - 2</c>.</summary>
    public IReadOnlyList<string> Keys => _entries.Select(e => e.Key).ToArray();

    /// <summary>The option on a 1-based line of the written file, or null for the braces and lines beyond.</summary>
    public string? KeyAtLine(int line) => line >= 2 && line - 2 < _entries.Count ? _entries[line - 2].Key : null;

    /// <summary>The JSON text.</summary>
    public string ToJson()
    {
        var text = new StringBuilder("{\n");
        for (int i = 0; i < _entries.Count; i++)
        {
            text.Append("  ").Append(Quote(_entries[i].Key)).Append(": ");
            if (_entries[i].Value is string[] array)
                text.Append('[').Append(string.Join(", ", array.Select(Quote))).Append(']');
            else
                text.Append(Quote((string)_entries[i].Value));
            text.Append(i + 1 < _entries.Count ? ",\n" : "\n");
        }
        return text.Append("}\n").ToString();
    }

    /// <summary>Writes the file (temporary file in the same folder, then rename).</summary>
    public void Write(string path)
    {
        string temp = path + ".tmp";
        File.WriteAllText(temp, ToJson(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        if (File.Exists(path)) File.Delete(path);
        File.Move(temp, path);
    }

    /// <summary>A JSON string literal.</summary>
    public static string Quote(string value)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                default:
                    if (c < 0x20) text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else text.Append(c);
                    break;
            }
        }
        return text.Append('"').ToString();
    }
}
