using System.Globalization;
using McMaster.Extensions.CommandLineUtils;
using Optimizer.Engine;
using Optimizer.Engine.Calibration;
using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Tool.Cli;
using Optimizer.Tool.Eval;

namespace Optimizer.Tool.Commands;

/// <summary>
/// <c>eval &lt;model&gt; --text &lt;file&gt;</c>: perplexity of a model on a UTF-8 text, with the model's own tokenizer,
/// in windows of <c>--context</c> tokens. With <c>--compare</c>, <c>--weight-quant</c> or <c>--activation-quant</c> the
/// model is the reference and each candidate also gets its KL divergence and top-1 agreement (<see cref="CompareRun"/>).
/// Deterministic: the same model and text give the same numbers.
/// </summary>
public sealed class EvalCommand : IToolCommand
{
    /// <summary>The window size when --context is not given (capped by the model's max positions).</summary>
    public const int DefaultContext = 512;

    /// <summary>Windows per forward pass when --batch is not given.</summary>
    public const int DefaultBatch = 4;

    private const string CommandPath = ToolInfo.DisplayName + " eval";
    private CommandArgument? _model;
    private CommandOption? _text;
    private CommandOption? _maxTokens;
    private CommandOption? _context;
    private CommandOption? _batch;
    private CommandOption? _device;
    private CommandOption? _json;
    private CommandOption? _compare;
    private CommandOption? _weightQuant;
    private CommandOption? _activationQuant;
    private CommandOption? _calibration;
    private CommandOption? _calibrationTokens;

    public string Name => "eval";

    public string Description => "Measure a model's perplexity on a text file.";

    public void Configure(CommandLineApplication command)
    {
        _model = command.Argument("model", "Model folder: config.json, safetensors weights and tokenizer.");
        _text = command.Option("--text <FILE>", "The evaluation text (UTF-8). Required.", CommandOptionType.SingleValue);
        _maxTokens = command.Option("--max-tokens <N>", "Use only the first N tokens of the text (default: all).", CommandOptionType.SingleValue);
        _context = command.Option("--context <N>", $"Tokens per window (default: {DefaultContext}, at most the model's max positions).", CommandOptionType.SingleValue);
        _batch = command.Option("--batch <N>", $"Windows per forward pass (default: {DefaultBatch}).", CommandOptionType.SingleValue);
        _device = command.Option("--device <DEVICE>", "cpu (default), cuda, cuda:N, or auto (CUDA when available).", CommandOptionType.SingleValue);
        _json = command.Option("--json", "Print the result as JSON (schema outlier-opt-eval/1, or outlier-opt-eval-compare/1 with candidates; without timing).", CommandOptionType.NoValue);
        _compare = command.Option("--compare <MODEL>", "Compare with another model (same tokenizer): perplexity of both, KL divergence, top-1 agreement.", CommandOptionType.SingleValue);
        _weightQuant = command.Option("--weight-quant <SCHEME>", "Fake-quantize the candidate's weights: int8 (per output channel), int4 (= int4-g128), int4-g32, or a GGUF recipe (Q8_0, Q4_0, Q2_K, Q3_K_M, Q4_K_M, Q5_K_S, Q6_K ..., as --quant of optimize, with optional kind=TYPE overrides).", CommandOptionType.SingleValue);
        _activationQuant = command.Option("--activation-quant <LIST>", "Fake-quantize the candidate's linear inputs; comma-separated list of a8-static, a8-dynamic, a4-static, a4-dynamic (one candidate each).", CommandOptionType.SingleValue);
        _calibration = command.Option("--calibration <PATH>", "Calibration text for static activation ranges: a UTF-8 file or a folder of .txt files; repeatable. Default: text sampled from the model (seeded).", CommandOptionType.MultipleValue);
        _calibrationTokens = command.Option("--calibration-tokens <N>", $"Calibration tokens for static ranges (default {CalibrationOptions.DefaultTokens}), in sequences of {CalibrationOptions.DefaultSequenceLength}.", CommandOptionType.SingleValue);
        command.ExtendedHelpText = @"
Every token of each window is scored (after the beginning-of-sequence token when the model has one).
Prints the tokens scored, the mean negative log-likelihood (nats/token), the perplexity and the speed.

With --compare, --weight-quant or --activation-quant the model is the reference and the candidates are: the --compare
model (or the model itself), with its weights fake-quantized by --weight-quant, once per --activation-quant scheme.
Each candidate gets its perplexity, the change, the mean KL(reference || candidate) per token and the top-1 agreement.
W8A8 static is --weight-quant int8 --activation-quant a8-static.

Exit codes: 0 success, 1 model or text error (OOPT1nnn, OOPT3002 for a missing text file, OOPT3041 for a --compare
model with another tokenizer) or cancelled, 2 usage error (OOPT3040 --activation-quant, OOPT3043 --weight-quant,
OOPT3042 calibration options without a static scheme).

Examples:
  dotnet outlier-opt eval models/tiny-llama --text data/eval.txt
  dotnet outlier-opt eval models/tiny-llama --text data/eval.txt --context 256 --batch 8 --max-tokens 20000
  dotnet outlier-opt eval models/tiny-llama --text data/eval.txt --device auto --json --quiet
  dotnet outlier-opt eval models/tiny-llama --text data/eval.txt --compare out/tiny-llama-int8
  dotnet outlier-opt eval models/tiny-llama --text data/eval.txt --weight-quant int8 --activation-quant a8-static,a8-dynamic,a4-dynamic";
    }

    public Task<int> ExecuteAsync(ToolContext context)
    {
        // The whole command line is checked before any file is touched, so usage errors always exit with 2.
        string modelPath = OptionValues.Required(_model!, CommandPath);
        string textPath = OptionValues.Required(_text!, CommandPath);
        int? maxTokens = OptionValues.Integer(_maxTokens!, CommandPath, min: 1);
        int? contextLength = OptionValues.Integer(_context!, CommandPath, min: 1);
        int batch = OptionValues.Integer(_batch!, CommandPath, min: 1, max: 65536) ?? DefaultBatch;
        string device = ParseDevice(_device!);
        bool json = _json!.HasValue();
        CompareSettings compare = ParseCompare();

        string text = TextFile.Read(textPath);
        context.ThrowIfCancelled();
        using var folder = ModelFolder.Open(modelPath);
        ModelConfig config = folder.Config;
        int[] encoded = folder.Tokenizer.Encode(text, addBos: false);
        int[] tokens = maxTokens is int limit && limit < encoded.Length ? encoded[..limit] : encoded;

        bool prefixBos = config.BosTokenId is not null;
        int longest = prefixBos ? config.MaxPositionEmbeddings - 1 : config.MaxPositionEmbeddings;
        if (contextLength > longest)
            throw new UsageException(ErrorCodes.CliInvalidValue,
                $"--context {contextLength} is longer than this model supports ({longest} tokens; max_position_embeddings is {config.MaxPositionEmbeddings}).",
                CommandPath);
        int window = contextLength ?? Math.Min(DefaultContext, longest);
        var (windows, scoredTotal) = EvalPlan.Count(tokens.Length, window, prefixBos);
        if (windows == 0)
            throw new OptimizerException(ErrorCodes.TextTooShort,
                $"The text has {tokens.Length} token(s); at least {(prefixBos ? 1 : 2)} are needed to score one.", textPath);
        context.ThrowIfCancelled();
        string modelName = CompareRun.NameOf(folder);

        if (compare.Any)
        {
            var plan = new CompareRun.TextPlan(Path.GetFileName(textPath), encoded.Length, tokens, window, batch, prefixBos, windows, scoredTotal);
            var calibration = compare.Calibration with { SequenceLength = Math.Min(CalibrationOptions.DefaultSequenceLength, config.MaxPositionEmbeddings) };
            CompareReport compared = CompareRun.Run(context, folder, modelName, text, plan, device, compare with { Calibration = calibration });
            if (json) context.Out.Write(compared.RenderJson());
            else compared.WriteText(context.Out);
            context.Out.Flush();
            return Task.FromResult(ExitCodes.Success);
        }

        using var model = LlamaModel.Create(config, folder.Weights, new ModelOptions { Device = device });
        var evaluator = new PerplexityEvaluator(model, new PerplexityOptions { Context = window, BatchSize = batch, PrefixBos = prefixBos });
        context.Info($"eval: {modelName}: {Units.Count(tokens.Length)} tokens in {Units.Count(windows)} window(s) of up to "
            + $"{Units.Count(window)}, batch {batch}, device {model.DeviceName}");

        PerplexityResult result;
        using (var progress = context.StartProgress("eval", "tokens", scoredTotal))
        {
            result = evaluator.Evaluate(tokens, new ProgressBridge(progress, scoredTotal), context.Cancellation);
            progress.Complete();
        }

        var report = new EvalReport(modelName, Path.GetFileName(textPath), encoded.Length, tokens.Length, result.TokensScored,
            result.Windows, window, batch, model.DeviceName, result.MeanNll, result.Elapsed);
        if (json) context.Out.Write(report.RenderJson());
        else report.WriteText(context.Out);
        context.Out.Flush();
        return Task.FromResult(ExitCodes.Success);
    }

    /// <summary>The comparison options; calibration options without a static scheme are a usage error.</summary>
    private CompareSettings ParseCompare()
    {
        string? comparePath = _compare!.HasValue() ? _compare.Value() : null;
        if (comparePath is not null && comparePath.Trim().Length == 0)
            throw new UsageException(ErrorCodes.CliInvalidValue, "--compare needs a model path.", CommandPath);
        WeightScheme? weights = QuantSchemes.ParseWeight(_weightQuant!.HasValue() ? _weightQuant.Value() : null, CommandPath);
        var activations = QuantSchemes.ParseActivation(_activationQuant!.HasValue() ? _activationQuant.Value() : null, CommandPath);
        string[] paths = _calibration!.Values.Where(v => v is not null).Select(v => v!).ToArray();
        if (paths.Any(p => p.Trim().Length == 0))
            throw new UsageException(ErrorCodes.CliInvalidValue, "--calibration needs a file or folder path.", CommandPath);
        // At least one calibration sequence.
        int tokens = OptionValues.Integer(_calibrationTokens!, CommandPath, min: CalibrationOptions.DefaultSequenceLength) ?? CalibrationOptions.DefaultTokens;
        var settings = new CompareSettings(comparePath, weights, activations, new CalibrationOptions { Paths = paths, Tokens = tokens });
        if ((paths.Length > 0 || _calibrationTokens!.HasValue()) && !settings.NeedsCalibration)
            throw new UsageException(ErrorCodes.EvalOptionsConflict,
                "--calibration and --calibration-tokens set the ranges of a static activation scheme; add --activation-quant a8-static or a4-static.", CommandPath);
        return settings;
    }

    private static string ParseDevice(CommandOption option)
    {
        if (!option.HasValue()) return "cpu";
        string value = (option.Value() ?? "").Trim().ToLowerInvariant();
        if (value is "cpu" or "cuda" or "auto") return value;
        if (value.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(value.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            return value;
        throw new UsageException(ErrorCodes.CliInvalidValue,
            $"--device must be cpu, cuda, cuda:N or auto, not '{option.Value()}'.", CommandPath);
    }
}
