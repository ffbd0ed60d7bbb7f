namespace Optimizer.Tool.Optimize;

/// <summary>
/// The optimize options by camelCase name (the options-file keys) with their command-line spelling: the long option
/// name in kebab case (<c>maxPplIncrease</c> ↔ <c>--max-ppl-increase</c>).
/// </summary>
public static class OptimizeOptionNames
{
    public const string Model = "model";
    public const string Output = "output";
    public const string Format = "format";
    public const string Quant = "quant";
    public const string GroupSize = "groupSize";
    public const string Mitigations = "mitigations";
    public const string Calibration = "calibration";
    public const string EvalText = "evalText";
    public const string MaxPplIncrease = "maxPplIncrease";
    public const string FailAbovePplIncrease = "failAbovePplIncrease";
    public const string FailAboveKld = "failAboveKld";
    public const string OutputName = "outputName";
    public const string Device = "device";
    public const string MaxMemory = "maxMemory";
    public const string CalibrationTokens = "calibrationTokens";
    public const string SequenceLength = "sequenceLength";
    public const string Seed = "seed";
    public const string EvalTokens = "evalTokens";
    public const string Batch = "batch";
    public const string Imatrix = "imatrix";
    public const string ImatrixOut = "imatrixOut";
    public const string Search = "search";
    public const string Candidates = "candidates";

    /// <summary>Every key an options file may have, in documentation order.</summary>
    public static readonly IReadOnlyList<string> All = new[]
    {
        Model, Output, Format, Quant, GroupSize, Mitigations, Calibration, EvalText, MaxPplIncrease, FailAbovePplIncrease,
        FailAboveKld, OutputName, Device, MaxMemory, CalibrationTokens, SequenceLength, Seed, EvalTokens, Batch, Imatrix, ImatrixOut, Search, Candidates,
    };

    /// <summary>Options whose value may be a JSON number in an options file.</summary>
    public static readonly IReadOnlySet<string> Numeric = new HashSet<string>(StringComparer.Ordinal)
    {
        GroupSize, MaxPplIncrease, FailAbovePplIncrease, FailAboveKld, MaxMemory, CalibrationTokens, SequenceLength, Seed, EvalTokens, Batch,
    };

    /// <summary>Options that name a file or folder (resolved against the options file's folder).</summary>
    public static readonly IReadOnlySet<string> Paths = new HashSet<string>(StringComparer.Ordinal) { Model, Output, Calibration, EvalText, Imatrix, ImatrixOut };

    /// <summary>The command-line spelling: <c>maxPplIncrease</c> → <c>--max-ppl-increase</c>.</summary>
    public static string Flag(string key)
    {
        var text = new System.Text.StringBuilder("--");
        foreach (char c in key)
        {
            if (char.IsAsciiLetterUpper(c)) text.Append('-').Append(char.ToLowerInvariant(c));
            else text.Append(c);
        }
        return text.ToString();
    }
}
