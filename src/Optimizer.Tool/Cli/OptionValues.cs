using System.Globalization;
using McMaster.Extensions.CommandLineUtils;
using Optimizer.Engine;

namespace Optimizer.Tool.Cli;

/// <summary>Typed values of command-line options; a bad value is a <see cref="UsageException"/> naming the option.</summary>
public static class OptionValues
{
    /// <summary>
    /// The integer value of <paramref name="option"/>, or null when it was not given. Throws for text that is not an
    /// integer in [<paramref name="min"/>, <paramref name="max"/>].
    /// </summary>
    public static int? Integer(CommandOption option, string commandPath, int min = 1, int max = int.MaxValue)
    {
        if (!option.HasValue()) return null;
        string text = option.Value() ?? "";
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
        {
            string range = $"an integer from {min} to {max}";
            throw new UsageException(ErrorCodes.CliInvalidValue, $"--{option.LongName} must be {range}, not '{text}'.", commandPath);
        }
        return value;
    }

    /// <summary>
    /// The value of <paramref name="option"/> if it is one of <paramref name="allowed"/> (case-insensitive, returned in
    /// its canonical spelling), <paramref name="defaultValue"/> when it was not given.
    /// </summary>
    public static string Choice(CommandOption option, string commandPath, string defaultValue, params string[] allowed)
    {
        if (!option.HasValue()) return defaultValue;
        string text = option.Value() ?? "";
        foreach (string candidate in allowed)
        {
            if (string.Equals(candidate, text.Trim(), StringComparison.OrdinalIgnoreCase)) return candidate;
        }
        throw new UsageException(ErrorCodes.CliInvalidValue,
            $"--{option.LongName} must be one of {string.Join(", ", allowed)}, not '{text}'.", commandPath);
    }

    /// <summary>The value of a required argument; throws <see cref="UsageException"/> when it is missing or empty.</summary>
    public static string Required(CommandArgument argument, string commandPath)
    {
        string? value = argument.Value;
        if (string.IsNullOrWhiteSpace(value))
            throw new UsageException(ErrorCodes.CliMissingArgument, $"The <{argument.Name}> argument is missing.", commandPath);
        return value;
    }

    /// <summary>The value of a required option; throws <see cref="UsageException"/> when it was not given.</summary>
    public static string Required(CommandOption option, string commandPath)
    {
        string? value = option.HasValue() ? option.Value() : null;
        if (string.IsNullOrWhiteSpace(value))
            throw new UsageException(ErrorCodes.CliMissingArgument, $"The --{option.LongName} option is required.", commandPath);
        return value;
    }
}
