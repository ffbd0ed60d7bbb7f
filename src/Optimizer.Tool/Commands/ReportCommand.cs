using McMaster.Extensions.CommandLineUtils;
using Optimizer.Engine;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Manifest;
using Optimizer.Tool.Cli;
using Optimizer.Tool.Report;

namespace Optimizer.Tool.Commands;

/// <summary>
/// <c>report &lt;manifest&gt; [-o report.html]</c>: renders an <c>outlier-manifest/1</c> file as one self-contained HTML
/// page (inline CSS and SVG charts, no scripts, no external resources), written atomically. Same manifest, same bytes.
/// </summary>
public sealed class ReportCommand : IToolCommand
{
    private const string CommandPath = ToolInfo.DisplayName + " report";
    private CommandArgument? _manifest;
    private CommandOption? _output;
    private CommandOption? _maxRows;

    public string Name => "report";

    public string Description => "Render an outlier manifest as a self-contained HTML page with charts and tables.";

    public void Configure(CommandLineApplication command)
    {
        _manifest = command.Argument("manifest", "The outlier manifest (outlier-manifest/1 JSON) written by 'analyze'.");
        _output = command.Option("-o|--output <FILE>", "The HTML file to write (default: the manifest's path with the extension .html).", CommandOptionType.SingleValue);
        _maxRows = command.Option("--max-rows <N>", $"Rows per findings table before '… and N more' (default {ReportPage.DefaultMaxRows}).", CommandOptionType.SingleValue);
        command.ExtendedHelpText = @"
The page shows the model, calibration and thresholds; the maximum |activation| per layer of the residual stream and
of y6 (log scale); the channel profiles at the norms with the γ values; and tables of the findings. It needs no
network and no scripts: open it in any browser.

Exit codes: 0 success; 1 the manifest is missing (OOPT3002) or invalid (OOPT1090, OOPT1091), naming the file,
or the page cannot be written (OOPT3020, OOPT1030); 2 usage error.

Examples:
  dotnet outlier-opt report tiny-llama.manifest.json -o tiny-llama.html
  dotnet outlier-opt report tiny-llama.manifest.json --max-rows 100";
    }

    public Task<int> ExecuteAsync(ToolContext context)
    {
        string manifestPath = OptionValues.Required(_manifest!, CommandPath);
        int maxRows = OptionValues.Integer(_maxRows!, CommandPath, min: 1, max: 100_000) ?? ReportPage.DefaultMaxRows;
        string outputPath = _output!.HasValue() ? OptionValues.Required(_output, CommandPath) : DefaultOutput(manifestPath);

        byte[] bytes = ReadManifest(manifestPath);
        CheckOutput(manifestPath, outputPath);
        context.ThrowIfCancelled();
        OutlierManifest manifest = ManifestReader.Parse(bytes, manifestPath);
        string html = ReportPage.Render(manifest, maxRows);
        context.ThrowIfCancelled();
        AtomicFile.WriteText(outputPath, html);

        ManifestFindings f = manifest.Findings;
        context.Out.WriteLine($"Wrote {outputPath} ({Units.Bytes(new FileInfo(outputPath).Length)}): {Units.Count(f.MassiveActivations.Count)} MA occurrences, "
            + $"{Units.Count(f.SuperWeights.Count)} super weights, {Units.Count(f.ChannelOutliers.Count)} channel outliers, "
            + $"{Units.Count(f.OutlierTriggeringChannels.Count)} OTCs.");
        context.Out.Flush();
        return Task.FromResult(ExitCodes.Success);
    }

    /// <summary><c>a/b.manifest.json</c> → <c>a/b.manifest.html</c>.</summary>
    private static string DefaultOutput(string manifestPath) => Path.ChangeExtension(manifestPath, ".html");

    private static byte[] ReadManifest(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new OptimizerException(ErrorCodes.CliFileNotFound, "The manifest file does not exist.", path);
        return ManifestReader.ReadBytes(path);
    }

    private static void CheckOutput(string manifestPath, string outputPath)
    {
        if (Directory.Exists(outputPath))
            throw new OptimizerException(ErrorCodes.ReportOutputInvalid, "The output path is a folder; name the HTML file to write.", outputPath);
        if (OutputPaths.RealPath(outputPath) == OutputPaths.RealPath(manifestPath))
            throw new OptimizerException(ErrorCodes.ReportOutputInvalid, "The output would overwrite the manifest; choose another file with -o.", outputPath);
        OutputPaths.CheckFile(outputPath, new InputSet().AddFile(manifestPath), "report");
    }
}
