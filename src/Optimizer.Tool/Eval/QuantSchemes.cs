using Optimizer.Engine;
using Optimizer.Engine.Evaluation;
using Optimizer.Tool.Cli;

namespace Optimizer.Tool.Eval;

/// <summary>Parses <c>--activation-quant</c> and <c>--weight-quant</c> of <c>eval</c>; bad values are usage errors.</summary>
public static class QuantSchemes
{
    /// <summary>The activation schemes, in the order accepted.</summary>
    public static readonly IReadOnlyList<string> ActivationNames = new[] { "a8-static", "a8-dynamic", "a4-static", "a4-dynamic" };

    /// <summary>The weight schemes accepted.</summary>
    public static readonly IReadOnlyList<string> WeightNames = new[] { "int8", "int4", "int4-g128", "int4-g32" };

    /// <summary>
    /// A comma-separated list of activation schemes (case-insensitive, no duplicates), each one candidate; empty when
    /// <paramref name="value"/> is null. Fails with <see cref="ErrorCodes.EvalActivationQuantInvalid"/>.
    /// </summary>
    public static IReadOnlyList<ActivationScheme> ParseActivation(string? value, string commandPath)
    {
        if (value is null) return Array.Empty<ActivationScheme>();
        var schemes = new List<ActivationScheme>();
        foreach (string raw in value.Split(','))
        {
            string item = raw.Trim().ToLowerInvariant();
            ActivationScheme scheme = item switch
            {
                "a8-static" => new ActivationScheme(8, ActivationQuantMode.PerTensorStatic),
                "a8-dynamic" => new ActivationScheme(8, ActivationQuantMode.PerTokenDynamic),
                "a4-static" => new ActivationScheme(4, ActivationQuantMode.PerTensorStatic),
                "a4-dynamic" => new ActivationScheme(4, ActivationQuantMode.PerTokenDynamic),
                _ => throw new UsageException(ErrorCodes.EvalActivationQuantInvalid,
                    (item.Length == 0 ? "--activation-quant has an empty entry" : $"--activation-quant: unknown scheme '{raw.Trim()}'")
                    + $"; use a comma-separated list of {string.Join(", ", ActivationNames)}.", commandPath),
            };
            if (schemes.Contains(scheme))
                throw new UsageException(ErrorCodes.EvalActivationQuantInvalid, $"--activation-quant names {scheme.Name} twice.", commandPath);
            schemes.Add(scheme);
        }
        return schemes;
    }

    /// <summary>The weight scheme, or null when <paramref name="value"/> is null. Fails with <see cref="ErrorCodes.EvalWeightQuantInvalid"/>.</summary>
    public static WeightScheme? ParseWeight(string? value, string commandPath)
    {
        if (value is null) return null;
        return value.Trim().ToLowerInvariant() switch
        {
            "int8" => new WeightScheme(8, 0),
            "int4" or "int4-g128" => new WeightScheme(4, 128),
            "int4-g32" => new WeightScheme(4, 32),
            _ => throw new UsageException(ErrorCodes.EvalWeightQuantInvalid,
                $"--weight-quant: unknown scheme '{value}'; use one of {string.Join(", ", WeightNames)}.", commandPath),
        };
    }
}
