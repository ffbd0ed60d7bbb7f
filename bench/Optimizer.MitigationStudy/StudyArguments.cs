using System.Globalization;

namespace Optimizer.MitigationStudy;

/// <summary>The study's command line: <c>--root</c>, <c>--output</c>, token budgets and <c>--only</c> filters.</summary>
public static class StudyArguments
{
    /// <summary>
    /// Parses <paramref name="args"/>; returns the settings, the repository root (default: the folder holding
    /// Optimizer.sln above the current directory), the output file (default docs/mitigation-results.md), the label
    /// filters (a filtered run writes no file) and the options as given (for the results file). Bad input throws
    /// <see cref="ArgumentException"/>.
    /// </summary>
    public static (StudySettings Settings, string Root, string Output, IReadOnlyList<string> Only, string Shown) Parse(string[] args)
    {
        var settings = new StudySettings();
        string? root = null;
        string output = Path.Combine("docs", "mitigation-results.md");
        var only = new List<string>();
        var shown = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (i + 1 >= args.Length) throw new ArgumentException($"Option {name} needs a value.");
            string value = args[++i];
            switch (name)
            {
                case "--root": root = Path.GetFullPath(value); continue;
                case "--output": output = value; break;
                case "--fixture-tokens": settings = settings with { FixtureEvalTokens = Count(name, value, 2) }; break;
                case "--synthetic-tokens": settings = settings with { SyntheticEvalTokens = Count(name, value, 2) }; break;
                case "--calibration-tokens": settings = settings with { CalibrationTokens = Count(name, value, settings.SequenceLength) }; break;
                case "--only": only.Add(value); break;
                default: throw new ArgumentException($"Unknown option {name}.");
            }
            shown.Add(name + " " + value);
        }
        return (settings, root ?? FindRoot(), output, only, string.Join(" ", shown));
    }

    private static int Count(string name, string value, int min)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < min)
            throw new ArgumentException($"{name} must be a whole number of at least {min}, not '{value}'.");
        return n;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Optimizer.sln"))) return dir.FullName;
        throw new ArgumentException("Optimizer.sln not found above the current directory; pass --root.");
    }
}
