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
    /// <summary>An input path is a FIFO, device, socket or folder where a regular file is read.</summary>
    public const string InputNotRegularFile = "OOPT1009";

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
    /// <summary>An output path names a file (or a folder holding a file) that the same run reads.</summary>
    public const string OutputIsInput = "OOPT1032";
    /// <summary>Another run is writing into the same output folder (its lock file is held).</summary>
    public const string OutputLocked = "OOPT1033";

    // Runtime
    public const string TorchUnavailable = "OOPT1040";
    public const string DeviceUnavailable = "OOPT1041";
    public const string TokenOutOfRange = "OOPT1042";
    public const string DeviceInvalid = "OOPT1043";
    public const string Cancelled = "OOPT1099";
    public const string InternalError = "OOPT1999";

    // Model content (OOPT1050-1059)
    /// <summary>A weight tensor holds NaN or an infinity (file, tensor and first index named).</summary>
    public const string WeightsNonFinite = "OOPT1050";
    /// <summary>config.json disagrees with the stored tensors (layers beyond num_hidden_layers, …).</summary>
    public const string ConfigWeightsMismatch = "OOPT1051";
    /// <summary>Finite weights produced non-finite logits or log-likelihoods (activations overflow float32).</summary>
    public const string NonFiniteOutput = "OOPT1052";

    // Calibration and analysis (OOPT1060-1079)
    public const string CalibrationOptionInvalid = "OOPT1060";
    public const string AnalysisOptionInvalid = "OOPT1061";
    public const string CalibrationPathMissing = "OOPT1062";
    public const string SamplingFailed = "OOPT1063";

    // GGUF quantization (OOPT1100-1109)
    /// <summary>A quantization recipe text names an unknown type or tensor kind, or is malformed.</summary>
    public const string QuantizationRecipeInvalid = "OOPT1100";
    /// <summary>Quantizer input or output sizes are not whole blocks of the type, or do not match each other.</summary>
    public const string QuantizationShapeInvalid = "OOPT1101";
    // OOPT1102 is retired (an importance-weighted quantizer missing from the build); it is never reused.

    // GGUF (OOPT1110-1129)
    /// <summary>The GGUF file ends before a header field, metadata value, tensor info or tensor's data.</summary>
    public const string GgufTruncated = "OOPT1110";
    /// <summary>The file does not start with the GGUF magic.</summary>
    public const string GgufMagicInvalid = "OOPT1111";
    /// <summary>The GGUF version is not 2 or 3.</summary>
    public const string GgufVersionUnsupported = "OOPT1112";
    /// <summary>A metadata key or value is malformed (type, string, bool, count, duplicate key, alignment).</summary>
    public const string GgufMetadataInvalid = "OOPT1113";
    /// <summary>A tensor info is malformed (name, dimensions, type, duplicate name).</summary>
    public const string GgufTensorInfoInvalid = "OOPT1114";
    /// <summary>A tensor's data offset is misaligned, overlaps another tensor or lies beyond the file.</summary>
    public const string GgufOffsetsInvalid = "OOPT1115";
    /// <summary>A GGUF tensor's type cannot be read as model weights.</summary>
    public const string GgufTensorTypeUnsupported = "OOPT1116";
    /// <summary>A GGUF file's metadata or tensors do not describe a supported Llama-family model.</summary>
    public const string GgufModelInvalid = "OOPT1117";
    /// <summary>A GGUF export got inconsistent input (a tensor producer wrote the wrong byte count, a tensor cannot be stored in its type).</summary>
    public const string GgufExportInvalid = "OOPT1118";
    /// <summary>The model's tokenizer cannot be written as GGUF tokenizer metadata, or GGUF tokenizer metadata cannot be read.</summary>
    public const string GgufTokenizerUnsupported = "OOPT1119";
    /// <summary>A model of a supported family that llama.cpp would run differently (e.g. a Gemma layer pattern it does not read).</summary>
    public const string GgufArchitectureUnsupported = "OOPT1120";

    // transforms (OOPT1130-1139)
    /// <summary>A mitigation list names an unknown mitigation, is empty, or combines none with others.</summary>
    public const string MitigationListInvalid = "OOPT1130";
    /// <summary>A transform option (γ target, SmoothQuant α, TMA target, clamp τ) is out of range.</summary>
    public const string TransformOptionInvalid = "OOPT1131";
    /// <summary>A transform plan does not fit the model it is applied to (layer count, widths, tensor types).</summary>
    public const string TransformPlanMismatch = "OOPT1132";
    /// <summary>A mitigation that is not exact on the model's architecture was requested explicitly.</summary>
    public const string TransformUnsupportedArchitecture = "OOPT1133";

    // evaluation (OOPT1140-1149)
    /// <summary>Activation quantization settings are invalid (bits, mode, missing or mismatched static scales, non-finite range).</summary>
    public const string ActivationQuantizationInvalid = "OOPT1140";
    /// <summary>Models compared with each other do not share a vocabulary.</summary>
    public const string ModelsNotComparable = "OOPT1141";

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

    // safetensors export and int8/int4 weights (OOPT1170-1179)
    /// <summary>Export options are invalid (weight format, float or scale type, group size, shard size).</summary>
    public const string HfExportOptionInvalid = "OOPT1170";
    /// <summary>A tensor to be quantized to int8/int4 holds NaN or an infinity.</summary>
    public const string IntQuantNonFinite = "OOPT1171";
    /// <summary>A quantization scale does not fit the scale type (F16 overflows); F32 scales are needed.</summary>
    public const string IntQuantScaleOverflow = "OOPT1172";
    /// <summary>A tensor cannot be stored in the chosen int layout (int4 needs an even input dimension).</summary>
    public const string IntQuantShapeUnsupported = "OOPT1173";
    /// <summary>The export's output folder cannot be used (it is the input model's folder, or an existing file).</summary>
    public const string HfExportOutputInvalid = "OOPT1174";
    /// <summary>An int8/int4 checkpoint's quantization_config or tensors do not follow docs/safetensors-int.md.</summary>
    public const string IntCheckpointInvalid = "OOPT1175";
    /// <summary>A finite weight exceeds the range of the float type it is exported as (F16 above 65504).</summary>
    public const string FloatExportOverflow = "OOPT1176";

    // importance matrix (OOPT1180-1189)
    /// <summary>An importance-matrix file does not exist, is a folder, or cannot be read.</summary>
    public const string ImatrixFileUnreadable = "OOPT1180";
    /// <summary>An importance-matrix file is malformed: truncated, neither GGUF nor legacy .dat, missing imatrix metadata, a sum without its counts, a non-F32 tensor.</summary>
    public const string ImatrixFileInvalid = "OOPT1181";
    /// <summary>A linear weight of the model has no entry in the importance matrix.</summary>
    public const string ImatrixTensorMissing = "OOPT1182";
    /// <summary>The importance matrix has an entry for a tensor the model does not have.</summary>
    public const string ImatrixTensorUnknown = "OOPT1183";
    /// <summary>An importance-matrix entry's length does not match the input columns of its weight (or it has several matrices).</summary>
    public const string ImatrixLengthMismatch = "OOPT1184";
    /// <summary>An importance-matrix value is NaN or infinite, a sum of squares or a count is negative, or a count is not a whole number.</summary>
    public const string ImatrixValueInvalid = "OOPT1185";

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

    // eval command (OOPT3040-3049)
    /// <summary>--activation-quant names an unknown scheme or is empty.</summary>
    public const string EvalActivationQuantInvalid = "OOPT3040";
    /// <summary>The --compare model does not tokenize the text like the model (vocabulary, BOS or token ids differ).</summary>
    public const string EvalCompareIncompatible = "OOPT3041";
    /// <summary>eval options that only make sense together were given alone (calibration options without a static scheme).</summary>
    public const string EvalOptionsConflict = "OOPT3042";
    /// <summary>--weight-quant names an unknown weight scheme.</summary>
    public const string EvalWeightQuantInvalid = "OOPT3043";

    // report command (OOPT3020-3029); an invalid manifest is OOPT1090/OOPT1091 from the shared manifest reader
    /// <summary>The report's output path names the manifest itself or a folder.</summary>
    public const string ReportOutputInvalid = "OOPT3020";
}
