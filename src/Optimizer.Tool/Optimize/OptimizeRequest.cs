namespace Optimizer.Tool.Optimize;

/// <summary>One raw option value and where it was given (1-based line/column in the options file; 0 on the command line).</summary>
/// <param name="Text">The value as text (a JSON number is kept in its JSON spelling).</param>
/// <param name="Line">Line in the options file, or 0.</param>
/// <param name="Column">Column in the options file, or 0.</param>
public sealed record RequestValue(string Text, int Line = 0, int Column = 0);

/// <summary>
/// The optimize options before validation, as given on the command line or in an options file: raw values keyed by
/// the option's camelCase name (<see cref="OptimizeOptionNames"/>). <see cref="OptimizeRequestBinder"/> turns it into
/// engine options, naming the option (command line) or the file position (options file) of a bad value.
/// </summary>
public sealed class OptimizeRequest
{
    private readonly Dictionary<string, RequestValue> _values = new(StringComparer.Ordinal);

    /// <summary>A request from the command line (<paramref name="optionsFile"/> null) or from an options file.</summary>
    public OptimizeRequest(string? optionsFile = null) => OptionsFile = optionsFile;

    /// <summary>The options file the values came from (relative paths resolve against its folder); null for the command line.</summary>
    public string? OptionsFile { get; }

    /// <summary>Calibration paths in the order given.</summary>
    public List<RequestValue> Calibration { get; } = new();

    /// <summary>The value of <paramref name="key"/>, or null when not given.</summary>
    public RequestValue? Get(string key) => _values.TryGetValue(key, out var v) ? v : null;

    /// <summary>Sets <paramref name="key"/> (a camelCase option name other than <c>calibration</c>).</summary>
    public void Set(string key, RequestValue value) => _values[key] = value;

    /// <summary>Whether any single-valued option was given.</summary>
    public bool HasValues => _values.Count > 0 || Calibration.Count > 0;
}
