namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// The metadata key/value pairs of a GGUF file in file order, with typed access. A missing key or a value of another
/// type fails with <see cref="ErrorCodes.GgufModelInvalid"/> naming the key and the file.
/// </summary>
public sealed class GgufMetadata
{
    private readonly List<KeyValuePair<string, GgufValue>> _entries;
    private readonly Dictionary<string, GgufValue> _byKey;

    /// <summary>Wraps <paramref name="entries"/> (unique keys) read from <paramref name="file"/>.</summary>
    public GgufMetadata(IEnumerable<KeyValuePair<string, GgufValue>> entries, string? file = null)
    {
        _entries = entries.ToList();
        _byKey = new Dictionary<string, GgufValue>(StringComparer.Ordinal);
        foreach (var (key, value) in _entries)
        {
            if (!_byKey.TryAdd(key, value)) throw new ArgumentException($"Duplicate metadata key '{key}'.", nameof(entries));
        }
        File = file;
    }

    /// <summary>The file the metadata was read from (for error messages), if any.</summary>
    public string? File { get; }

    /// <summary>The entries in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Entries => _entries;

    /// <summary>Number of entries.</summary>
    public int Count => _entries.Count;

    /// <summary>Whether <paramref name="key"/> is present.</summary>
    public bool Contains(string key) => _byKey.ContainsKey(key);

    /// <summary>The value of <paramref name="key"/>, or null.</summary>
    public GgufValue? Find(string key) => _byKey.GetValueOrDefault(key);

    /// <summary>The value of <paramref name="key"/>; missing fails.</summary>
    public GgufValue Get(string key) => Find(key)
        ?? throw new OptimizerException(ErrorCodes.GgufModelInvalid, $"The GGUF metadata has no '{key}'.", File);

    /// <summary>A string value.</summary>
    public string GetString(string key) => Get(key).Value as string ?? throw WrongType(key, "a string");

    /// <summary>A string value, or null when absent.</summary>
    public string? FindString(string key) => Contains(key) ? GetString(key) : null;

    /// <summary>An integer value of any integer type, which must fit in 32 bits (signed).</summary>
    public int GetInt32(string key)
    {
        long value = GetInteger(key);
        return value is >= int.MinValue and <= int.MaxValue ? (int)value : throw WrongType(key, "a 32-bit integer");
    }

    /// <summary>An integer value of any integer type, or null when absent.</summary>
    public int? FindInt32(string key) => Contains(key) ? GetInt32(key) : null;

    /// <summary>An integer value of any integer type as 64 bits.</summary>
    public long GetInteger(string key) => Get(key).AsInteger() ?? throw WrongType(key, "an integer");

    /// <summary>A float value (f32 or f64) as a double.</summary>
    public double GetFloat(string key) => Get(key).AsFloat() ?? throw WrongType(key, "a float");

    /// <summary>A float value, or null when absent.</summary>
    public double? FindFloat(string key) => Contains(key) ? GetFloat(key) : null;

    /// <summary>A bool value, or null when absent.</summary>
    public bool? FindBool(string key) => !Contains(key) ? null : Get(key).Value is bool b ? b : throw WrongType(key, "a bool");

    /// <summary>An array whose elements are of <paramref name="elementType"/>.</summary>
    public T[] GetArray<T>(string key, GgufValueType elementType)
    {
        var array = Get(key).Array;
        if (array is null || array.ElementType != elementType) throw WrongType(key, $"an array of {elementType}");
        return array.As<T>();
    }

    /// <summary>An array of <paramref name="elementType"/>, or null when absent.</summary>
    public T[]? FindArray<T>(string key, GgufValueType elementType) => Contains(key) ? GetArray<T>(key, elementType) : null;

    private OptimizerException WrongType(string key, string expected)
    {
        var value = Get(key);
        string actual = value.Array is { } a ? $"an array of {a.ElementType}" : value.Type.ToString();
        return new OptimizerException(ErrorCodes.GgufModelInvalid, $"GGUF metadata '{key}' is {actual} ({value}); expected {expected}.", File);
    }
}
