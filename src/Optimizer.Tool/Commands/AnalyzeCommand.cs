using McMaster.Extensions.CommandLineUtils;
using Optimizer.Engine;
using Optimizer.Engine.Calibration;
using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Diagnostics.ChannelOutliers;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Manifest;
using Optimizer.Engine.Model;
using Optimizer.Engine.Quantization.Imatrix;
using Optimizer.Tool.Analyze;
using Optimizer.Tool.Cli;

namespace Optimizer.Tool.Commands;

/// <summary>
/// <c>analyze &lt;model&gt;</c>: runs calibration text (or text sampled from the model) through the model with probes at
/// every operator position, finds massive activations (births, kinds, propagation, super weights), channel-wise
/// outliers with their causes and the OTCs of W_q, prints a summary and writes the outlier manifest; with
/// <c>--imatrix-out</c> also the importance matrix of the calibration run (llama.cpp GGUF imatrix format).
/// </summary>
public sealed class AnalyzeCommand : IToolCommand
{
    /// <summary>The suffix of the default manifest file name (<c>&lt;model-name&gt;.manifest.json</c>).</summary>
    public const string ManifestSuffix = ".manifest.json";

    /// <summary>The largest census top-k accepted on the command line.</summary>
    public const int MaxTopK = 1024;

    private const string CommandPath = ToolInfo.DisplayName + " analyze";
    private CommandArgument? _model;
    private CommandOption? _calibration, _tokens, _sequenceLength, _seed, _maMode, _maThreshold, _maRatio;
    private CommandOption? _coRatio, _gammaRatio, _otcRatio, _topK, _batch, _device, _output, _json, _imatrixOut;

    public string Name => "analyze";

    public string Description => "Find massive activations, channel-wise outliers and their causes; write the outlier manifest.";

    public void Configure(CommandLineApplication command)
    {
        _model = command.Argument("model", "Model folder: config.json, safetensors weights and tokenizer.");
        _calibration = command.Option("--calibration <PATH>", "Calibration text: a UTF-8 file or a folder of .txt files; repeatable. Default: text sampled from the model itself (seeded).", CommandOptionType.MultipleValue);
        _tokens = command.Option("--calibration-tokens <N>", $"Tokens of calibration (default {CalibrationOptions.DefaultTokens}); cut into sequences of --sequence-length.", CommandOptionType.SingleValue);
        _sequenceLength = command.Option("--sequence-length <N>", $"Tokens per calibration sequence, BOS included (default {CalibrationOptions.DefaultSequenceLength}, at most the model's max positions).", CommandOptionType.SingleValue);
        _seed = command.Option("--seed <N>", $"Seed of the self-sampled calibration text (default {CalibrationOptions.DefaultSeed}).", CommandOptionType.SingleValue);
        _maMode = command.Option("--ma-mode <MODE>", "absolute (default; Sun et al.) or scale-free (thresholds relative to the model's own statistics, for small models).", CommandOptionType.SingleValue);
        _maThreshold = command.Option("--ma-threshold <X>", "absolute mode: |x| must exceed X (default 100); scale-free mode: |x| must reach X x the site's median per-token max |x| (default 8).", CommandOptionType.SingleValue);
        _maRatio = command.Option("--ma-ratio <X>", "|x| must reach X x the token's median |x| (default 1000 absolute, 20 scale-free).", CommandOptionType.SingleValue);
        _coRatio = command.Option("--co-ratio <X>", "Channel outlier: channel median |x| >= X x the median over channels (default 10; above 1).", CommandOptionType.SingleValue);
        _gammaRatio = command.Option("--gamma-ratio <X>", "gamma outlier: |gamma_j| / median |gamma| > X (default 5; above 1).", CommandOptionType.SingleValue);
        _otcRatio = command.Option("--otc-ratio <X>", "OTC of W_q: score >= X (default 10; above 1).", CommandOptionType.SingleValue);
        _topK = command.Option("--top-k <N>", $"Largest entries kept per site in the census (default 16, at most {MaxTopK}).", CommandOptionType.SingleValue);
        _batch = command.Option("--batch <N>", "Sequences per forward pass (default 4).", CommandOptionType.SingleValue);
        _device = command.Option("--device <DEVICE>", "cpu (default), cuda, cuda:N, or auto (CUDA when available).", CommandOptionType.SingleValue);
        _output = command.Option("-o|--output <FILE>", $"Where to write the manifest (default: <model-name>{ManifestSuffix} in the current folder; with --json, no file unless -o is given).", CommandOptionType.SingleValue);
        _json = command.Option("--json", "Print the manifest (outlier-manifest/1) on stdout instead of the summary.", CommandOptionType.NoValue);
        _imatrixOut = command.Option("--imatrix-out <FILE>", "Also write the importance matrix of the calibration run (llama.cpp GGUF imatrix: per linear weight the sums of x and x² of its inputs); 'optimize --imatrix' and llama-quantize --imatrix read it.", CommandOptionType.SingleValue);
        command.ExtendedHelpText = @"
The manifest is deterministic: the same model, calibration and options give a byte-identical file (docs/manifest.md).

Exit codes: 0 success, 1 model or calibration error (OOPT1nnn names the file) or cancelled, 2 usage error.

Examples:
  dotnet outlier-opt analyze models/tiny-llama
  dotnet outlier-opt analyze models/tiny-llama --calibration data/calib.txt --calibration-tokens 8192 -o tiny.manifest.json
  dotnet outlier-opt analyze models/tiny-llama --ma-mode scale-free --json --quiet > tiny.manifest.json
  dotnet outlier-opt analyze models/tiny-llama --calibration data/calib.txt --imatrix-out tiny.imatrix.gguf";
    }

    public Task<int> ExecuteAsync(ToolContext context)
    {
        // Every option is checked before the model is opened, so usage errors always exit with 2.
        string modelPath = OptionValues.Required(_model!, CommandPath);
        var paths = _calibration!.Values.Where(v => v is not null).Select(v => v!).ToArray();
        if (paths.Any(string.IsNullOrWhiteSpace))
            throw new UsageException(ErrorCodes.CliInvalidValue, "--calibration needs a file or folder path.", CommandPath);
        int? tokens = OptionValues.Integer(_tokens!, CommandPath, min: 2);
        int? sequenceLength = OptionValues.Integer(_sequenceLength!, CommandPath, min: 2);
        ulong seed = AnalyzeOptionValues.Seed(_seed!, CommandPath) ?? CalibrationOptions.DefaultSeed;
        string mode = OptionValues.Choice(_maMode!, CommandPath, MaOptions.Absolute, MaOptions.Absolute, MaOptions.ScaleFree);
        double? maThreshold = AnalyzeOptionValues.Above(_maThreshold!, CommandPath, 0);
        double? maRatio = AnalyzeOptionValues.Above(_maRatio!, CommandPath, 0);
        double? coRatio = AnalyzeOptionValues.Above(_coRatio!, CommandPath, 1);
        double? gammaRatio = AnalyzeOptionValues.Above(_gammaRatio!, CommandPath, 1);
        double? otcRatio = AnalyzeOptionValues.Above(_otcRatio!, CommandPath, 1);
        int? topK = OptionValues.Integer(_topK!, CommandPath, min: 1, max: MaxTopK);
        int? batch = OptionValues.Integer(_batch!, CommandPath, min: 1, max: 4096);
        string device = AnalyzeOptionValues.Device(_device!, CommandPath);
        bool json = _json!.HasValue();
        string? output = _output!.HasValue() ? _output.Value() : null;
        if (output is not null && string.IsNullOrWhiteSpace(output))
            throw new UsageException(ErrorCodes.CliInvalidValue, "--output needs a file path.", CommandPath);
        string? imatrixOut = _imatrixOut!.HasValue() ? _imatrixOut.Value() : null;
        if (imatrixOut is not null && string.IsNullOrWhiteSpace(imatrixOut))
            throw new UsageException(ErrorCodes.CliInvalidValue, "--imatrix-out needs a file path.", CommandPath);
        if (imatrixOut is not null && output is not null && Path.GetFullPath(imatrixOut) == Path.GetFullPath(output))
            throw new UsageException(ErrorCodes.CliInvalidValue, "--imatrix-out and --output name the same file.", CommandPath);

        using var folder = ModelFolder.Open(modelPath);
        // Before any work: the manifest may not replace anything this run reads, and its folder must be writable.
        string? target = output ?? (json ? null : folder.Name + ManifestSuffix);
        if (target is not null)
        {
            var inputs = new InputSet().AddModel(folder);
            foreach (string path in paths) inputs.AddPath(path);
            OutputPaths.CheckFile(target, inputs, "manifest");
        }
        int maxPositions = folder.Config.MaxPositionEmbeddings;
        int length = sequenceLength ?? Math.Min(CalibrationOptions.DefaultSequenceLength, maxPositions);
        if (length > maxPositions)
            throw new UsageException(ErrorCodes.AnalyzeSequenceTooLong,
                $"--sequence-length {length} is longer than this model supports (max_position_embeddings is {maxPositions}).", CommandPath);
        int tokenBudget = tokens ?? Math.Max(CalibrationOptions.DefaultTokens, length);
        if (tokenBudget < length)
            throw new UsageException(ErrorCodes.AnalyzeTokensTooFew,
                $"--calibration-tokens {tokenBudget} is fewer than one sequence of {length} tokens (--sequence-length).", CommandPath);

        var calibration = new CalibrationOptions { Paths = paths, SequenceLength = length, Tokens = tokenBudget, Seed = seed };
        var ma = new MassiveActivationOptions { Mode = mode == MaOptions.Absolute ? MassiveActivationMode.Absolute : MassiveActivationMode.ScaleFree };
        if (mode == MaOptions.Absolute)
            ma = ma with { AbsoluteThreshold = maThreshold ?? ma.AbsoluteThreshold, RelativeThreshold = maRatio ?? ma.RelativeThreshold };
        else
            ma = ma with { ScaleFreeFactor = maThreshold ?? ma.ScaleFreeFactor, RelativeThresholdScaleFree = maRatio ?? ma.RelativeThresholdScaleFree };
        var defaults = new AnalysisOptions();
        int censusTopK = topK ?? defaults.CensusTopK;
        var options = new AnalysisOptions
        {
            MassiveActivations = ma,
            CensusTopK = censusTopK,
            StatisticsTopK = Math.Max(defaults.StatisticsTopK, censusTopK),
            MaxStatisticsTopK = Math.Max(defaults.MaxStatisticsTopK, censusTopK),
            BatchSize = batch ?? defaults.BatchSize,
            Model = new ModelOptions { Device = device },
            ImportanceMatrix = imatrixOut is not null,
        };
        var channelDefaults = new ChannelOutlierOptions();
        var channels = channelDefaults with
        {
            CoRatio = coRatio ?? channelDefaults.CoRatio,
            GammaRatio = gammaRatio ?? channelDefaults.GammaRatio,
            OtcRatio = otcRatio ?? channelDefaults.OtcRatio,
        };

        context.Info($"analyze: {folder.Name}: "
            + (paths.Length > 0 ? $"calibration from {paths.Length} path(s)" : $"self-sampled calibration (seed {seed})")
            + $", up to {Units.Count(tokenBudget)} tokens in sequences of {length}, MA mode {mode}, device {device}");
        OutlierAnalysisResult result;
        using (var progress = new AnalysisProgressBridge(context))
        {
            result = OutlierAnalysis.Run(folder, calibration, options, channels, ToolInfo.Version, progress, context.Cancellation);
            progress.Complete();
        }
        context.ThrowIfCancelled();
        foreach (string warning in result.Warnings) context.Info($"warning: {warning}");
        if (result.Manifest.Calibration.Tokens < tokenBudget)
            context.Info($"warning: the calibration text gave {Units.Count(result.Manifest.Calibration.Tokens)} tokens " +
                $"({result.Manifest.Calibration.Sequences} sequences of {length}); {Units.Count(tokenBudget)} were asked for with --calibration-tokens.");

        if (target is not null) ManifestWriter.Write(target, result.Manifest);
        if (imatrixOut is not null)
        {
            var written = ImatrixFile.Write(imatrixOut, ImportanceCollection.FromAnalysis(result.Analysis), context.Cancellation);
            context.Info($"analyze: wrote importance matrix {written.Path} ({Units.Bytes(written.Bytes)})");
        }
        if (json) context.Out.Write(ManifestWriter.ToText(result.Manifest));
        else AnalyzeSummaryText.Write(result.Manifest, context.Out, target);
        context.Info($"analyze: done in {ProgressDisplay.FormatDuration(result.Elapsed)} on {result.Device}");
        context.Out.Flush();
        return Task.FromResult(ExitCodes.Success);
    }
}
