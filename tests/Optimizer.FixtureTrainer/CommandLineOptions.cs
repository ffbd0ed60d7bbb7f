using System.Globalization;

namespace Optimizer.FixtureTrainer;

/// <summary>
/// <c>--name value</c> options of a subcommand. Unknown or repeated names, missing values and unparsable numbers are
/// errors (<see cref="ArgumentException"/>), so a typo never silently falls back to a default.
/// </summary>
internal sealed class CommandLineOptions
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public CommandLineOptions(string[] args, IEnumerable<string> known)
    {
        var allowed = new HashSet<string>(known, StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"Unexpected argument \"{arg}\".");
            string name = arg[2..];
            if (!allowed.Contains(name)) throw new ArgumentException($"Unknown option \"{arg}\"; known: {string.Join(", ", allowed.Select(a => "--" + a))}.");
            if (i + 1 >= args.Length) throw new ArgumentException($"Option \"{arg}\" needs a value.");
            if (!_values.TryAdd(name, args[++i])) throw new ArgumentException($"Option \"{arg}\" is given twice.");
        }
    }

    public string String(string name, string fallback) => _values.TryGetValue(name, out var v) ? v : fallback;

    public string Required(string name) =>
        _values.TryGetValue(name, out var v) ? v : throw new ArgumentException($"Option \"--{name}\" is required.");

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        if (!_values.TryGetValue(name, out var text)) return fallback;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
            throw new ArgumentException($"Option \"--{name}\" must be an integer in [{min}, {max}], not \"{text}\".");
        return value;
    }

    public double Double(string name, double fallback, double min = double.MinValue, double max = double.MaxValue)
    {
        if (!_values.TryGetValue(name, out var text)) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !(value >= min && value <= max))
            throw new ArgumentException($"Option \"--{name}\" must be a number in [{min}, {max}], not \"{text}\".");
        return value;
    }

    public bool Has(string name) => _values.ContainsKey(name);
}
