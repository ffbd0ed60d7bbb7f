namespace Optimizer.Tasks;

/// <summary>
/// The build-integration error codes (OOPT2001-2099). The targets in build/Optimizer.Build.targets use the same codes
/// in their <c>&lt;Error Code="…"&gt;</c> checks; docs/errors.md lists them all. A code is never reused for a
/// different meaning. Next free code: OOPT2036.
/// </summary>
public static class BuildErrorCodes
{
    /// <summary>No dotnet-outlier-opt was found (property, environment variable, local or global tool).</summary>
    public const string ToolNotFound = "OOPT2001";

    /// <summary>The tool named by <c>OutlierOptToolPath</c> or <c>OUTLIER_OPT_TOOL</c> does not exist.</summary>
    public const string ToolPathMissing = "OOPT2002";

    /// <summary>The task assembly named by <c>OutlierOptTasksAssembly</c> does not exist.</summary>
    public const string TasksAssemblyMissing = "OOPT2003";

    /// <summary>An OptimizedModel item whose path is neither a folder nor a file.</summary>
    public const string ModelPathMissing = "OOPT2010";

    /// <summary><c>Format</c> is not gguf or safetensors.</summary>
    public const string FormatInvalid = "OOPT2011";

    /// <summary><c>Quantization</c> is not a known type, or does not fit the format.</summary>
    public const string QuantizationInvalid = "OOPT2012";

    /// <summary><c>Mitigations</c> names an unknown mitigation, or combines none/all with others.</summary>
    public const string MitigationsInvalid = "OOPT2013";

    /// <summary>A <c>Calibration</c> file or folder that does not exist.</summary>
    public const string CalibrationMissing = "OOPT2014";

    /// <summary>An <c>EvalText</c> file that does not exist.</summary>
    public const string EvalTextMissing = "OOPT2015";

    /// <summary><c>Embed</c> is not true or false.</summary>
    public const string EmbedInvalid = "OOPT2016";

    /// <summary><c>MaxPerplexityIncrease</c> is not a non-negative percentage.</summary>
    public const string MaxPerplexityIncreaseInvalid = "OOPT2017";

    /// <summary><c>MaxKlDivergence</c> is not a non-negative number.</summary>
    public const string MaxKlDivergenceInvalid = "OOPT2018";

    /// <summary><c>Device</c> is not cpu, cuda or auto.</summary>
    public const string DeviceInvalid = "OOPT2019";

    /// <summary><c>OutputName</c> is empty after defaults or has characters other than letters, digits, '.', '-', '_'.</summary>
    public const string OutputNameInvalid = "OOPT2020";

    /// <summary>Two OptimizedModel items of one project with the same output name.</summary>
    public const string OutputNameDuplicate = "OOPT2021";

    /// <summary><c>GroupSize</c> is not 32 or 128.</summary>
    public const string GroupSizeInvalid = "OOPT2022";

    /// <summary><c>CalibrationTokens</c>, <c>SequenceLength</c>, <c>EvalTokens</c> or <c>Seed</c> is not a whole number (or is 0).</summary>
    public const string SizeInvalid = "OOPT2023";

    /// <summary>The <c>Imatrix</c> file of an OptimizedModel does not exist.</summary>
    public const string ImatrixMissing = "OOPT2024";

    /// <summary><c>ImatrixOut</c> is not true or false.</summary>
    public const string ImatrixOutInvalid = "OOPT2025";

    /// <summary>The tool failed without reporting an error of its own (crash, killed, timeout).</summary>
    public const string ToolFailed = "OOPT2030";

    /// <summary>The tool succeeded but its result file is missing or not of the documented shape.</summary>
    public const string ResultInvalid = "OOPT2031";

    /// <summary>The quality gate failed and the tool did not say so itself.</summary>
    public const string QualityGateFailed = "OOPT2032";

    /// <summary>The intermediate files of a model could not be written or removed.</summary>
    public const string IntermediateIoFailed = "OOPT2033";

    /// <summary>A task parameter the targets must always pass is missing (a broken targets file).</summary>
    public const string TaskParameterMissing = "OOPT2034";

    /// <summary>A local tool manifest (dotnet-tools.json) that cannot be read.</summary>
    public const string ToolManifestInvalid = "OOPT2035";

    /// <summary><c>Search</c> is not quick or full.</summary>
    public const string SearchInvalid = "OOPT2026";
}
