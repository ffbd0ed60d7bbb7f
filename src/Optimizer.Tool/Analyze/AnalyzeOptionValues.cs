using System.Globalization;
using McMaster.Extensions.CommandLineUtils;
using Optimizer.Engine;
using Optimizer.Tool.Cli;

namespace Optimizer.Tool.Analyze;

/// <summary>Typed values of the <c>analyze</c> options that <see cref="OptionValues"/> does not cover (numbers with a lower bound, seeds).</summary>
public static class AnalyzeOptionValues
{
    /// <summary>
    /// The finite number given for <paramref name="option"/>, or null when not given; a value that is not a number
    /// greater than <paramref name="exclusiveMin"/> is a usage error naming the option.
    /// </summary>
    public static double? Above(CommandOption option, string commandPath, double exclusiveMin)
    {
        if (!option.HasValue()) return null;
        string text = option.Value() ?? "";
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value) || value <= exclusiveMin)
            throw new UsageException(ErrorCodes.CliInvalidValue,
                $"--{option.LongName} must be a number greater than {exclusiveMin.ToString(CultureInfo.InvariantCulture)}, not '{text}'.", commandPath);
        return value;
    }

    /// <summary>The non-negative 64-bit seed given for <paramref name="option"/>, or null when not given.</summary>
    public static ulong? Seed(CommandOption option, string commandPath)
    {
        if (!option.HasValue()) return null;
        string text = option.Value() ?? "";
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value) || value > long.MaxValue)
            throw new UsageException(ErrorCodes.CliInvalidValue, $"--{option.LongName} must be an integer from 0 to {long.MaxValue}, not '{text}'.", commandPath);
        return value;
    }

    /// <summary>cpu (default), cuda, cuda:N or auto.</summary>
    public static string Device(CommandOption option, string commandPath)
    {
        if (!option.HasValue()) return "cpu";
        string value = (option.Value() ?? "").Trim().ToLowerInvariant();
        if (value is "cpu" or "cuda" or "auto") return value;
        if (value.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(value.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            return value;
        throw new UsageException(ErrorCodes.CliInvalidValue, $"--device must be cpu, cuda, cuda:N or auto, not '{option.Value()}'.", commandPath);
    }
}
