using System.Globalization;

namespace Optimizer.MitigationStudy;

/// <summary>
/// The study's command line: the settings, the repository root (default: the folder holding Optimizer.sln above the
/// current directory), the output file (default docs/mitigation-results.md), the <c>--only</c> label filters and
/// <c>--recipe</c> list (a filtered run writes no file), <c>--save</c> (the measurements as JSON) or <c>--render</c>
/// (write the file from saved measurements, measuring nothing), and the measuring options as given (for the results file).
/// </summary>
public sealed record StudyCommand(StudySettings Settings, string Root, string Output, IReadOnlyList<string> Only, IReadOnlyList<string> Recipes,
    string Shown, string? Save, string? Render)
{
    /// <summary>Whether <c>--only</c> or <c>--recipe</c> narrowed the run (then no results file is written).</summary>
    public bool Filtered => Only.Count > 0 || !ReferenceEquals(Recipes, StudyArguments.DefaultRecipes);
}

/// <summary>Parses the study's command line into a <see cref="StudyCommand"/>.</summary>
public static class StudyArguments
{
    /// <summary>The recipes of a full run.</summary>
    public static readonly IReadOnlyList<string> DefaultRecipes = new[] { "Q4_0", "Q4_K_M", "Q3_K_M" };

    /// <summary>Parses <paramref name="args"/>; bad input throws <see cref="ArgumentException"/>.</summary>
    public static StudyCommand Parse(string[] args)
    {
        var settings = new StudySettings();
        string? root = null, save = null, render = null;
        string output = Path.Combine("docs", "mitigation-results.md");
        var only = new List<string>();
        var recipes = new List<string>();
        var shown = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (i + 1 >= args.Length) throw new ArgumentException($"Option {name} needs a value.");
            string value = args[++i];
            switch (name)
            {
                case "--root": root = Path.GetFullPath(value); continue;
                case "--save": save = Path.GetFullPath(value); continue;
                case "--render": render = Path.GetFullPath(value); continue;
                case "--output": output = value; break;
                case "--fixture-tokens": settings = settings with { FixtureEvalTokens = Count(name, value, 2) }; break;
                case "--synthetic-tokens": settings = settings with { SyntheticEvalTokens = Count(name, value, 2) }; break;
                case "--calibration-tokens": settings = settings with { CalibrationTokens = Count(name, value, settings.SequenceLength) }; break;
                case "--only": only.Add(value); break;
                case "--recipe": recipes.Add(value); break;
                default: throw new ArgumentException($"Unknown option {name}.");
            }
            shown.Add(name + " " + value);
        }
        return new StudyCommand(settings, root ?? FindRoot(), output, only, recipes.Count == 0 ? DefaultRecipes : recipes, string.Join(" ", shown), save, render);
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
