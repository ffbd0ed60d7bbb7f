using Optimizer.Engine;
using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Quantization;
using Optimizer.Tool.Cli;

namespace Optimizer.Tool.Eval;

/// <summary>Parses <c>--activation-quant</c> and <c>--weight-quant</c> of <c>eval</c>; bad values are usage errors.</summary>
public static class QuantSchemes
{
    /// <summary>The activation schemes, in the order accepted.</summary>
    public static readonly IReadOnlyList<string> ActivationNames = new[] { "a8-static", "a8-dynamic", "a4-static", "a4-dynamic" };

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

    /// <summary>
    /// The weight scheme (<c>int8</c>, <c>int4</c> = <c>int4-g128</c>, <c>int4-g32</c>, or a GGUF recipe such as
    /// <c>Q4_0</c>), or null when <paramref name="value"/> is null. Fails with <see cref="ErrorCodes.EvalWeightQuantInvalid"/>.
    /// </summary>
    public static WeightScheme? ParseWeight(string? value, string commandPath)
    {
        if (value is null) return null;
        switch (value.Trim().ToLowerInvariant())
        {
            case "int8": return new WeightScheme(8, 0);
            case "int4" or "int4-g128": return new WeightScheme(4, 128);
            case "int4-g32": return new WeightScheme(4, 32);
        }
        try
        {
            return new WeightScheme(0, 0, QuantizationRecipe.Parse(value));
        }
        catch (OptimizerException error) when (error.Code == ErrorCodes.QuantizationRecipeInvalid)
        {
            throw new UsageException(ErrorCodes.EvalWeightQuantInvalid,
                $"--weight-quant: {error.Message.TrimEnd('.')}; use int8, int4, int4-g128, int4-g32 or a GGUF recipe ({string.Join(", ", QuantizationRecipe.Names)}).",
                commandPath);
        }
    }
}
