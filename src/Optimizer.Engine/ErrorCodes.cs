namespace Optimizer.Engine;

/// <summary>
/// Stable error codes. OOPT1xxx: engine and model input; OOPT2xxx: build integration; OOPT3xxx: command line.
/// Codes are never reused for a different meaning; docs/errors.md lists them.
/// </summary>
public static class ErrorCodes
{
    // Model folder and configuration
    public const string ModelNotFound = "OOPT1001";
    public const string ConfigMissing = "OOPT1002";
    public const string ConfigInvalid = "OOPT1003";
    public const string UnsupportedArchitecture = "OOPT1004";
    public const string UnsupportedConfigValue = "OOPT1005";
    public const string PickleRefused = "OOPT1006";
    public const string NoWeights = "OOPT1007";
    public const string FileUnreadable = "OOPT1008";

    // safetensors
    public const string SafetensorsTruncated = "OOPT1010";
    public const string SafetensorsHeaderInvalid = "OOPT1011";
    public const string SafetensorsOffsetsInvalid = "OOPT1012";
    public const string UnsupportedDType = "OOPT1013";
    public const string TensorMissing = "OOPT1014";
    public const string TensorShapeMismatch = "OOPT1015";
    public const string ShardIndexInvalid = "OOPT1016";
    public const string ShardMissing = "OOPT1017";
    public const string DuplicateTensor = "OOPT1018";
    public const string TensorTooLarge = "OOPT1019";

    // Tokenizer and text input
    public const string TokenizerMissing = "OOPT1020";
    public const string TokenizerInvalid = "OOPT1021";
    public const string TextInvalid = "OOPT1022";
    public const string TextTooShort = "OOPT1023";

    // Writing
    public const string OutputNotWritable = "OOPT1030";
    public const string WriteFailed = "OOPT1031";

    // Runtime
    public const string TorchUnavailable = "OOPT1040";
    public const string DeviceUnavailable = "OOPT1041";
    public const string TokenOutOfRange = "OOPT1042";
    public const string DeviceInvalid = "OOPT1043";
    public const string Cancelled = "OOPT1099";
    public const string InternalError = "OOPT1999";

    // Calibration and analysis (OOPT1060-1079)
    public const string CalibrationOptionInvalid = "OOPT1060";
    public const string AnalysisOptionInvalid = "OOPT1061";
    public const string CalibrationPathMissing = "OOPT1062";
    public const string SamplingFailed = "OOPT1063";

    // optimize pipeline (OOPT1150-1169)
    /// <summary>An optimize option has a bad value (engine-side validation).</summary>
    public const string OptimizeOptionInvalid = "OOPT1150";
    /// <summary>The optimize output folder or output name cannot be used.</summary>
    public const string OptimizeOutputInvalid = "OOPT1151";
    /// <summary>An exact transform changed the logits by more than the verification tolerance.</summary>
    public const string TransformVerificationFailed = "OOPT1152";
    /// <summary>The quality gate failed (perplexity increase or KL divergence above its limit).</summary>
    public const string QualityGateFailed = "OOPT1160";
    /// <summary>The estimated peak memory exceeds --max-memory.</summary>
    public const string MemoryBudgetExceeded = "OOPT1165";

    // Outlier manifest (OOPT1090-1098)
    public const string ManifestInvalid = "OOPT1090";
    public const string ManifestSchemaUnsupported = "OOPT1091";
    public const string ManifestValueNotFinite = "OOPT1092";

    // Command line
    public const string CliUsage = "OOPT3001";
    public const string CliFileNotFound = "OOPT3002";
    public const string CliUnrecognized = "OOPT3003";
    public const string CliMissingArgument = "OOPT3004";
    public const string CliInvalidValue = "OOPT3005";

    // analyze options (OOPT3010-3019)
    public const string AnalyzeSequenceTooLong = "OOPT3010";
    public const string AnalyzeTokensTooFew = "OOPT3011";

    // optimize command (OOPT3030-3039)
    /// <summary>The options file is not valid JSON or not a JSON object.</summary>
    public const string OptionsFileInvalid = "OOPT3030";
    /// <summary>The options file has a key that is not an optimize option.</summary>
    public const string OptionsFileUnknownKey = "OOPT3031";
    /// <summary>An options-file value has the wrong type or a bad value.</summary>
    public const string OptionsFileBadValue = "OOPT3032";
    /// <summary>The options file does not exist or cannot be read.</summary>
    public const string OptionsFileUnreadable = "OOPT3033";
    /// <summary>--options-file was combined with command-line model options, or a required option is missing.</summary>
    public const string OptimizeArgumentsConflict = "OOPT3034";

    // report command (OOPT3020-3029); an invalid manifest is OOPT1090/OOPT1091 from the shared manifest reader
    /// <summary>The report's output path names the manifest itself or a folder.</summary>
    public const string ReportOutputInvalid = "OOPT3020";
}
