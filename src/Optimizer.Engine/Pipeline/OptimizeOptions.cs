using Optimizer.Engine.Calibration;
using Optimizer.Engine.Quantization.Imatrix;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Transforms;

namespace Optimizer.Engine.Pipeline;

/// <summary>
/// Everything <see cref="OptimizePipeline.Run"/> needs: the options of <c>dotnet outlier-opt optimize</c> (and of its
/// options file, see docs/cli.md) in engine form. Percentages are fractions (0.01 = 1%). <see cref="Validate"/> checks
/// every value (<see cref="ErrorCodes.OptimizeOptionInvalid"/>).
/// </summary>
public sealed record OptimizeOptions
{
    /// <summary>The default <see cref="MaxPplIncrease"/>: 1%.</summary>
    public const double DefaultMaxPplIncrease = 0.01;

    /// <summary>Default tokens of evaluation text.</summary>
    public const int DefaultEvalTokens = 1024;

    /// <summary>
    /// The quantization names accepted for GGUF output: llama.cpp's file types (<see cref="QuantizationRecipe.Names"/>)
    /// and llama-quantize's aliases <c>Q3_K</c>, <c>Q4_K</c>, <c>Q5_K</c> (the <c>_M</c> mixes).
    /// </summary>
    public static readonly IReadOnlyList<string> GgufQuants =
        QuantizationRecipe.Names.Concat(QuantizationRecipe.Aliases.Select(a => a.Key)).ToArray();

    /// <summary>The quantization names accepted for safetensors output.</summary>
    public static readonly IReadOnlyList<string> SafetensorsQuants = new[] { "F32", "F16", "BF16", "int8", "int4" };

    /// <summary>The model: a Hugging Face folder or a <c>.gguf</c> file.</summary>
    public required string Model { get; init; }

    /// <summary>The output folder (created when missing).</summary>
    public required string Output { get; init; }

    /// <summary>GGUF (default) or a safetensors folder.</summary>
    public OutputFormat Format { get; init; } = OutputFormat.Gguf;

    /// <summary>The quantization recipe; null = <c>Q8_0</c> for GGUF, <c>int8</c> for safetensors.</summary>
    public string? Quant { get; init; }

    /// <summary>int4 group size (32 or 128; default 32).</summary>
    public int GroupSize { get; init; } = 32;

    /// <summary>Mitigations: <c>all</c> (default), <c>none</c> or a comma list of <c>norm</c>, <c>smooth</c>, <c>otc</c>, <c>tma</c>, <c>tma-clamp</c>.</summary>
    public string Mitigations { get; init; } = "all";

    /// <summary>
    /// Whether the user named <see cref="Mitigations"/> (<c>--mitigations</c>). When false, candidates with and without the
    /// mitigations compete and the better file is written; when true, a list that kept transforms is applied to the
    /// written file even if an unmitigated candidate scored better (the manifest warns). docs/quantization.md "Candidates".
    /// </summary>
    public bool MitigationsExplicit { get; init; }

    /// <summary>How much of the candidate search runs (<c>--search</c>; default <see cref="SearchMode.Full"/>).</summary>
    public SearchMode Search { get; init; } = SearchMode.Full;

    /// <summary>Every candidate name <see cref="Candidates"/> may hold, simplest first.</summary>
    public static readonly IReadOnlyList<string> CandidateNames = new[]
    {
        "stock", "imatrix", "compensated", "mitigated", "mitigated-imatrix", "mitigated-compensated", "awq", "awq-imatrix", "awq-compensated",
    };

    /// <summary>
    /// Only these candidate files are built and scored (<c>--candidates</c>, names from <see cref="CandidateNames"/>), even
    /// those that would store the same bytes as a simpler one; null = the <see cref="Search"/> set.
    /// </summary>
    public IReadOnlyList<string>? Candidates { get; init; }

    /// <summary>
    /// Transform parameters beyond the mitigation list (γ target, SmoothQuant α, clamp τ …; engine API, not on the
    /// command line); null = the defaults. Their own mitigation set is ignored: <see cref="Mitigations"/> decides.
    /// </summary>
    public TransformOptions? TransformSettings { get; init; }

    /// <summary>Calibration text files or folders; empty = text sampled from the model (seed <see cref="Seed"/>).</summary>
    public IReadOnlyList<string> Calibration { get; init; } = Array.Empty<string>();

    /// <summary>
    /// An importance matrix of the model being optimized (llama.cpp GGUF imatrix or legacy <c>.dat</c>, e.g. from
    /// <c>llama-imatrix</c> or <c>analyze --imatrix-out</c>) used to quantize the GGUF weights as <c>llama-quantize
    /// --imatrix</c> does; carried over the transforms first. GGUF output only; null = none.
    /// </summary>
    public string? Imatrix { get; init; }

    /// <summary>
    /// The same as <see cref="Imatrix"/> already in memory (engine API; its <see cref="ImportanceMatrix.Source"/> is
    /// recorded as the file). At most one of the two.
    /// </summary>
    public ImportanceMatrix? ImportanceMatrix { get; init; }

    /// <summary>
    /// Where to write the importance matrix collected over the calibration text on the transformed model, i.e. of
    /// the weights as written (GGUF imatrix format); null = none collected.
    /// </summary>
    public string? ImatrixOut { get; init; }

    /// <summary>Held-out evaluation text; null = text sampled from the model with <see cref="EvalSeed"/>.</summary>
    public string? EvalText { get; init; }

    /// <summary>The approximate TMA clamp is kept only when it raises held-out perplexity by at most this fraction (default 0.01).</summary>
    public double MaxPplIncrease { get; init; } = DefaultMaxPplIncrease;

    /// <summary>Quality gate: fail when the optimized model's perplexity rises by more than this fraction.</summary>
    public double? FailAbovePplIncrease { get; init; }

    /// <summary>Quality gate: fail when the mean KL divergence (nats/token) from the original exceeds this.</summary>
    public double? FailAboveKld { get; init; }

    /// <summary>Output base name; null = the model folder's (or .gguf file's) name.</summary>
    public string? OutputName { get; init; }

    /// <summary><c>cpu</c> (default), <c>cuda</c>, <c>cuda:N</c> or <c>auto</c>.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Peak-memory budget in bytes; null = no check.</summary>
    public long? MaxMemoryBytes { get; init; }

    /// <summary>Calibration token budget (default 1024).</summary>
    public int CalibrationTokens { get; init; } = CalibrationOptions.DefaultTokens;

    /// <summary>Tokens per calibration sequence (default 128, at most the model's max positions).</summary>
    public int SequenceLength { get; init; } = CalibrationOptions.DefaultSequenceLength;

    /// <summary>Seed of the self-sampled calibration text (default 42).</summary>
    public ulong Seed { get; init; } = CalibrationOptions.DefaultSeed;

    /// <summary>Seed of the self-sampled evaluation text (default: <see cref="Seed"/> + 1, never the calibration seed).</summary>
    public ulong? EvalSeed { get; init; }

    /// <summary>Tokens of evaluation text scored per variant (default 1024).</summary>
    public int EvalTokens { get; init; } = DefaultEvalTokens;

    /// <summary>Sequences per forward pass (default 4).</summary>
    public int BatchSize { get; init; } = 4;

    /// <summary>
    /// A file the caller writes after the run (the tool's <c>--result-file</c>): checked with the outputs before any
    /// work (never an input, writable), and a stale one from an earlier run is deleted then.
    /// </summary>
    public string? ResultFile { get; init; }

    /// <summary>Further files the run reads (the tool's options file), protected like the model and texts.</summary>
    public IReadOnlyList<string> OtherInputs { get; init; } = Array.Empty<string>();

    /// <summary>The tool version recorded in the manifest.</summary>
    public string ToolVersion { get; init; } = "0.0.0";

    /// <summary>The effective quantization name.</summary>
    public string EffectiveQuant => Quant ?? (Format == OutputFormat.Gguf ? "Q8_0" : "int8");

    /// <summary>The effective evaluation seed.</summary>
    public ulong EffectiveEvalSeed => EvalSeed ?? unchecked(Seed + 1);

    /// <summary>The output base name: <see cref="OutputName"/>, else the model folder's or .gguf file's name.</summary>
    public string EffectiveOutputName
    {
        get
        {
            if (OutputName is not null) return OutputName;
            string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Model));
            return full.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) && !Directory.Exists(full)
                ? Path.GetFileNameWithoutExtension(full)
                : Path.GetFileName(full);
        }
    }

    /// <summary>The full path the weights are written to: <c>&lt;output&gt;/&lt;name&gt;.gguf</c> or the folder <c>&lt;output&gt;/&lt;name&gt;</c>.</summary>
    public string WeightsPath => Path.Combine(Path.GetFullPath(Output), EffectiveOutputName + (Format == OutputFormat.Gguf ? ".gguf" : ""));

    /// <summary>Checks every value; throws <see cref="OptimizerException"/> with <see cref="ErrorCodes.OptimizeOptionInvalid"/>.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Model)) Fail("The model path is empty.");
        if (string.IsNullOrWhiteSpace(Output)) Fail("The output folder is empty.");
        if (Candidates is { } candidates)
        {
            if (candidates.Count == 0) Fail("The candidate list is empty.");
            foreach (string c in candidates)
                if (!CandidateNames.Contains(c, StringComparer.Ordinal))
                    Fail($"'{c}' is not a candidate; use {string.Join(", ", CandidateNames)}.");
        }
        var allowed = Format == OutputFormat.Gguf ? GgufQuants : SafetensorsQuants;
        if (!allowed.Contains(EffectiveQuant, StringComparer.Ordinal))
            Fail($"Quantization '{EffectiveQuant}' is not available for {OutputFormats.Id(Format)} output; use one of {string.Join(", ", allowed)}.");
        if (GroupSize is not (32 or 128)) Fail($"The int4 group size must be 32 or 128, not {GroupSize}.");
        if (string.IsNullOrWhiteSpace(Mitigations)) Fail("The mitigation list is empty; use 'none' for no mitigation.");
        if (Calibration.Any(string.IsNullOrWhiteSpace)) Fail("A calibration path is empty.");
        if (EvalText is not null && string.IsNullOrWhiteSpace(EvalText)) Fail("The evaluation text path is empty.");
        if (Imatrix is not null && string.IsNullOrWhiteSpace(Imatrix)) Fail("The importance-matrix path is empty.");
        if (ImatrixOut is not null && string.IsNullOrWhiteSpace(ImatrixOut)) Fail("The importance-matrix output path is empty.");
        if (Imatrix is not null && ImportanceMatrix is not null) Fail("Give the importance matrix as a file or in memory, not both.");
        if ((Imatrix is not null || ImportanceMatrix is not null) && Format != OutputFormat.Gguf)
            Fail("An importance matrix is used to quantize GGUF weights; it does not apply to safetensors output.");
        CheckFraction(MaxPplIncrease, "max-ppl-increase");
        if (FailAbovePplIncrease is double p) CheckFraction(p, "fail-above-ppl-increase");
        if (FailAboveKld is double k && (!double.IsFinite(k) || k < 0)) Fail($"fail-above-kld must be a non-negative number, not {k}.");
        if (OutputName is not null) CheckName(OutputName);
        else CheckName(EffectiveOutputName);
        string device = Device.Trim().ToLowerInvariant();
        if (!(device is "cpu" or "cuda" or "auto" || (device.StartsWith("cuda:", StringComparison.Ordinal) && device.Length > 5 && device[5..].All(char.IsAsciiDigit))))
            Fail($"The device must be cpu, cuda, cuda:N or auto, not '{Device}'.");
        if (MaxMemoryBytes is long m && m < 1) Fail($"The memory budget must be positive, not {m} bytes.");
        if (SequenceLength < 2) Fail($"The calibration sequence length must be at least 2 tokens, not {SequenceLength}.");
        if (CalibrationTokens < SequenceLength) Fail($"The calibration token budget ({CalibrationTokens}) is smaller than one sequence ({SequenceLength} tokens).");
        if (EvalTokens < 2) Fail($"The evaluation needs at least 2 tokens, not {EvalTokens}.");
        if (BatchSize < 1) Fail($"The batch size must be at least 1, not {BatchSize}.");
        string model = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Model));
        string weights = WeightsPath;
        if (string.Equals(weights, model, StringComparison.Ordinal)
            || model.StartsWith(weights + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new OptimizerException(ErrorCodes.OptimizeOutputInvalid,
                $"The output {weights} would replace the model being read; choose another output folder or --output-name.", Model);
        if (ImatrixOut is not null)
        {
            string imatrixOut = Path.GetFullPath(ImatrixOut);
            string manifest = Path.Combine(Path.GetFullPath(Output), EffectiveOutputName + OutputStage.ManifestSuffix);
            if (Directory.Exists(imatrixOut))
                throw new OptimizerException(ErrorCodes.OptimizeOutputInvalid, "The importance-matrix output is a folder; give a file path.", ImatrixOut);
            if (imatrixOut == weights || imatrixOut == manifest || imatrixOut.StartsWith(weights + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new OptimizerException(ErrorCodes.OptimizeOutputInvalid, "The importance-matrix output would replace one of the other outputs.", ImatrixOut);
            if (Imatrix is not null && imatrixOut == Path.GetFullPath(Imatrix))
                throw new OptimizerException(ErrorCodes.OptimizeOutputInvalid, "The importance-matrix output would replace the importance matrix being read.", ImatrixOut);
        }
        if (EvalText is null && EffectiveEvalSeed == Seed) Fail("The evaluation seed must differ from the calibration seed, or the evaluation would score the calibration text.");
    }

    private static void CheckFraction(double fraction, string name)
    {
        if (!double.IsFinite(fraction) || fraction < 0) Fail($"{name} must be a non-negative percentage, not {fraction * 100}%.");
    }

    private static void CheckName(string name)
    {
        if (name.Length == 0 || name is "." or ".." || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.Contains('/') || name.Contains('\\'))
            throw new OptimizerException(ErrorCodes.OptimizeOutputInvalid, $"'{name}' cannot be used as an output name: it must be a plain file name.");
    }

    private static void Fail(string message) => throw new OptimizerException(ErrorCodes.OptimizeOptionInvalid, message);
}
