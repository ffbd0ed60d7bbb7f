using McMaster.Extensions.CommandLineUtils;
using Optimizer.Engine;
using Optimizer.Engine.Pipeline;
using Optimizer.Tool.Cli;
using Optimizer.Tool.Optimize;

namespace Optimizer.Tool.Commands;

/// <summary>
/// <c>optimize &lt;model&gt; -o &lt;dir&gt;</c>: analyses the model, applies the outlier mitigations (exact ones verified,
/// the approximate clamp gated on perplexity), evaluates the original, transformed and quantized variants, checks the
/// quality gate and writes the quantized weights (GGUF or safetensors) and the manifest. Machine mode for the build:
/// <c>--options-file opts.json --result-file result.json --diagnostics msbuild</c> (docs/cli.md).
/// </summary>
public sealed class OptimizeCommand : IToolCommand
{
    private const string CommandPath = ToolInfo.DisplayName + " optimize";
    private CommandArgument? _model;
    private readonly Dictionary<string, CommandOption> _options = new(StringComparer.Ordinal);
    private CommandOption? _calibration, _optionsFile, _resultFile;

    public string Name => "optimize";

    public string Description => "Mitigate outliers, quantize, evaluate and write GGUF or safetensors weights plus the manifest.";

    public void Configure(CommandLineApplication command)
    {
        _model = command.Argument("model", "Model: a Hugging Face folder or a .gguf file.");
        Single(command, OptimizeOptionNames.Output, "-o|--output <DIR>", "Output folder (created when missing). Required.");
        Single(command, OptimizeOptionNames.Format, "--format <FORMAT>", "gguf (default) or safetensors.");
        Single(command, OptimizeOptionNames.Quant, "--quant <TYPE>", "GGUF: Q8_0 (default), Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K, F16, BF16, F32 (llama.cpp's recipes; Q3_K, Q4_K, Q5_K = the _M ones); safetensors: int8 (default), int4, F16, BF16, F32.");
        Single(command, OptimizeOptionNames.GroupSize, "--group-size <N>", "int4 columns per scale group: 32 (default) or 128.");
        Single(command, OptimizeOptionNames.Mitigations, "--mitigations <LIST>", "all (default), none, or a comma list of norm, smooth, otc, tma, tma-clamp. Left out, candidates with and without the mitigations compete and the better file is written; named, the list is applied (the summary warns when it loses).");
        Single(command, OptimizeOptionNames.Search, "--search <MODE>", "Candidate files scored on the evaluation text (the one with the lowest KL divergence is written): full (default: stock, imatrix, compensated, mitigated-imatrix, mitigated-compensated, awq-imatrix, awq-compensated) or quick (stock, imatrix, compensated, mitigated-imatrix; dotnet build's default).");
        Single(command, OptimizeOptionNames.Candidates, "--candidates <LIST>", "Only these candidate files, comma-separated: stock, imatrix, compensated, mitigated, mitigated-imatrix, mitigated-compensated, awq, awq-imatrix, awq-compensated (e.g. 'stock' writes exactly llama-quantize's file, 'imatrix' llama-quantize --imatrix's).");
        _calibration = command.Option("--calibration <PATH>", "Calibration text file or folder of .txt files; repeatable. Default: text sampled from the model (seeded).", CommandOptionType.MultipleValue);
        Single(command, OptimizeOptionNames.EvalText, "--eval-text <FILE>", "Held-out evaluation text. Default: text sampled from the model with a seed different from calibration.");
        Single(command, OptimizeOptionNames.MaxPplIncrease, "--max-ppl-increase <PCT>", "Keep the approximate TMA clamp only when held-out perplexity rises by at most this (default 1%; '2%' or '2').");
        Single(command, OptimizeOptionNames.FailAbovePplIncrease, "--fail-above-ppl-increase <PCT>", "Quality gate: fail (exit 1, OOPT1160, nothing written) when the written model's perplexity rises by more.");
        Single(command, OptimizeOptionNames.FailAboveKld, "--fail-above-kld <X>", "Quality gate: fail when the mean KL divergence from the original (nats/token) is above X.");
        Single(command, OptimizeOptionNames.OutputName, "--output-name <NAME>", "Base name of the outputs (default: the model folder's or .gguf file's name).");
        Single(command, OptimizeOptionNames.Device, "--device <DEVICE>", "cpu (default), cuda, cuda:N or auto.");
        Single(command, OptimizeOptionNames.MaxMemory, "--max-memory <SIZE>", "Fail up front (OOPT1165) when the estimated peak memory exceeds SIZE (e.g. 4GiB, 512M).");
        Single(command, OptimizeOptionNames.CalibrationTokens, "--calibration-tokens <N>", "Calibration tokens (default 1024).");
        Single(command, OptimizeOptionNames.SequenceLength, "--sequence-length <N>", "Tokens per calibration sequence and evaluation window, BOS included (default 128).");
        Single(command, OptimizeOptionNames.Seed, "--seed <N>", "Seed of the self-sampled calibration text (default 42; the evaluation text uses seed + 1).");
        Single(command, OptimizeOptionNames.EvalTokens, "--eval-tokens <N>", "Evaluation tokens scored per variant (default 1024).");
        Single(command, OptimizeOptionNames.Batch, "--batch <N>", "Sequences per forward pass (default 4).");
        Single(command, OptimizeOptionNames.Imatrix, "--imatrix <FILE>", "Importance matrix of the input model (llama.cpp GGUF imatrix or legacy .dat, e.g. from llama-imatrix or 'analyze --imatrix-out') to quantize the GGUF weights with, as llama-quantize --imatrix; carried over the transforms.");
        Single(command, OptimizeOptionNames.ImatrixOut, "--imatrix-out <FILE>", "Also write the importance matrix of the optimized weights (collected over the calibration text on the transformed model; llama.cpp GGUF imatrix format).");
        _optionsFile = command.Option("--options-file <FILE>", "Read every option from a JSON file (keys: the long option names in camelCase); no other option or argument may be given.", CommandOptionType.SingleValue);
        _resultFile = command.Option("--result-file <FILE>", "Write the result JSON (outlier-opt-result/1: outputs, evaluation, gate) here, last.", CommandOptionType.SingleValue);
        command.ExtendedHelpText = @"
Outputs: <output>/<name>.gguf (or the folder <output>/<name>/ for safetensors) and <output>/<name>.manifest.json.
Nothing is written when the quality gate fails; the result file then says why.

Exit codes: 0 success, 1 failed (bad model or input, quality gate, memory budget, options file) or cancelled, 2 usage error.

Examples:
  dotnet outlier-opt optimize models/tiny-llama -o out --quant Q4_0
  dotnet outlier-opt optimize models/tiny-llama -o out --format safetensors --quant int4 --group-size 128 --fail-above-ppl-increase 2%
  dotnet outlier-opt optimize models/tiny-llama -o out --quant F16 --imatrix-out out/tiny-llama.imatrix.gguf
  dotnet outlier-opt optimize --options-file obj/opts.json --result-file obj/result.json --diagnostics msbuild";
    }

    public Task<int> ExecuteAsync(ToolContext context)
    {
        string? resultFile = _resultFile!.HasValue() ? _resultFile.Value() : null;
        if (resultFile is not null && string.IsNullOrWhiteSpace(resultFile))
            throw new UsageException(ErrorCodes.CliInvalidValue, "--result-file needs a file path.", CommandPath);
        OptimizeRequest request = Request();
        // The pipeline checks the result file with the outputs before any work, and deletes a stale one then.
        OptimizeOptions options = OptimizeRequestBinder.Bind(request, ToolInfo.Version, CommandPath) with
        {
            ResultFile = resultFile,
            OtherInputs = _optionsFile!.HasValue() ? new[] { _optionsFile.Value()! } : Array.Empty<string>(),
        };

        context.Info($"optimize: {options.EffectiveOutputName}: {OutputFormats.Id(options.Format)} {options.EffectiveQuant}, mitigations {options.Mitigations}, "
            + (options.Calibration.Count > 0 ? $"calibration from {options.Calibration.Count} path(s)" : $"self-sampled calibration (seed {options.Seed})")
            + $", device {options.Device}");
        OptimizeResult result;
        using (var progress = new OptimizeProgressBridge(context))
        {
            result = OptimizePipeline.Run(options, progress, context.Cancellation);
            progress.Complete();
        }
        context.ThrowIfCancelled();
        foreach (string warning in result.Warnings) context.Info($"warning: {warning}");
        if (resultFile is not null) OptimizeResultFile.Write(resultFile, result);
        if (context.Diagnostics == DiagnosticsMode.Human) OptimizeSummaryText.Write(result, context.Out);
        else foreach (var o in result.Outputs) context.Out.WriteLine($"optimize: wrote {o.Path}");
        context.Out.Flush();
        if (!result.Gate.Passed) throw QualityGate.Failure(result.Gate, options.Model);
        context.Info($"optimize: done in {ProgressDisplay.FormatDuration(result.Elapsed)} on {result.Device}");
        return Task.FromResult(ExitCodes.Success);
    }

    private void Single(CommandLineApplication command, string key, string template, string description) =>
        _options[key] = command.Option(template, description, CommandOptionType.SingleValue);

    private OptimizeRequest Request()
    {
        if (_optionsFile!.HasValue())
        {
            string path = _optionsFile.Value() ?? "";
            if (string.IsNullOrWhiteSpace(path)) throw new UsageException(ErrorCodes.CliInvalidValue, "--options-file needs a file path.", CommandPath);
            var given = _options.Where(o => o.Value.HasValue()).Select(o => "--" + o.Value.LongName).ToList();
            if (_calibration!.HasValue()) given.Add("--calibration");
            if (!string.IsNullOrEmpty(_model!.Value)) given.Insert(0, "<model>");
            if (given.Count > 0)
                throw new UsageException(ErrorCodes.OptimizeArgumentsConflict,
                    $"--options-file holds every option; do not also give {string.Join(", ", given)}.", CommandPath);
            return OptimizeOptionsFile.Load(path);
        }
        var request = new OptimizeRequest();
        if (!string.IsNullOrWhiteSpace(_model!.Value)) request.Set(OptimizeOptionNames.Model, new RequestValue(_model.Value));
        foreach (var (key, option) in _options)
        {
            if (option.HasValue()) request.Set(key, new RequestValue(option.Value() ?? ""));
        }
        foreach (string? value in _calibration!.Values) request.Calibration.Add(new RequestValue(value ?? ""));
        return request;
    }
}
