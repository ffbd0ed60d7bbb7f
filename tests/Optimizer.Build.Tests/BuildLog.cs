using System.Text.RegularExpressions;

namespace Optimizer.Build.Tests;

/// <summary>What the build log of a <see cref="TempProject"/> build says about the optimization.</summary>
public static class BuildLog
{
    /// <summary>The item specs the build optimized (one "OutlierOpt: optimizing 'x'" line each).</summary>
    public static IReadOnlyList<string> Optimized(CommandResult result) =>
        Regex.Matches(result.Output, @"OutlierOpt: optimizing '([^']+)'").Select(m => m.Groups[1].Value).Distinct().OrderBy(s => s, StringComparer.Ordinal).ToArray();

    /// <summary>Whether the optimization target was skipped as up to date (for at least one model).</summary>
    public static bool Skipped(CommandResult result) =>
        result.Output.Contains("Skipping target \"_OutlierOptOptimizeModels\" because all output files are up-to-date", StringComparison.Ordinal);

    /// <summary>
    /// The error lines without MSBuild's node prefix ("1>") and project suffix (" [/x/App.csproj]"), deduplicated (MSBuild
    /// repeats them in its summary).
    /// </summary>
    public static IReadOnlyList<string> Errors(CommandResult result) =>
        result.Output.Split('\n')
            .Select(l => Regex.Replace(l.Trim(), @"^\d+>", ""))
            .Select(l => Regex.Replace(l, @" \[[^\]]+\.csproj\]$", ""))
            .Where(l => l.Contains(": error ", StringComparison.Ordinal))
            .Distinct()
            .ToArray();
}
