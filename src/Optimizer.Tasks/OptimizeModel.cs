using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Optimizer.Tasks;

/// <summary>
/// Optimizes one model by running <c>dotnet-outlier-opt optimize --options-file … --result-file … --diagnostics
/// msbuild</c> in a child process (the engine and libtorch never load into MSBuild). Writes the options file, turns the
/// tool's canonical error lines into MSBuild errors with file, line and code, reads the result file and returns the
/// written files. The model's output folder and result file are removed before the run and again when the run fails,
/// so a failed optimization leaves nothing half-written and the next build tries again.
/// </summary>
public sealed class OptimizeModel : ToolTask
{
    private readonly OptionsFile _options = new();

    /// <summary>The file name suffix of the importance matrix written with <see cref="ImatrixOut"/>.</summary>
    public const string ImatrixSuffix = ".imatrix.gguf";

    /// <summary>The model folder or .gguf file (absolute).</summary>
    [Required] public string Model { get; set; } = "";

    /// <summary>The item as written in the project, for messages.</summary>
    [Required] public string ItemSpec { get; set; } = "";

    /// <summary>The file errors about the item are reported against (where the item is defined).</summary>
    [Required] public string ProjectFile { get; set; } = "";

    /// <summary>The folder the tool writes the model's outputs to; emptied before the run.</summary>
    [Required] public string OutputDirectory { get; set; } = "";

    /// <summary>The options file to write.</summary>
    [Required] public string OptionsFilePath { get; set; } = "";

    /// <summary>The result file the tool writes last (the target's up-to-date marker).</summary>
    [Required] public string ResultFile { get; set; } = "";

    /// <summary>The tool: its dll, executable, or (local tool) manifest.</summary>
    [Required] public string OutlierOptToolPath { get; set; } = "";

    /// <summary><c>DotnetDll</c>, <c>Executable</c> or <c>LocalTool</c>.</summary>
    [Required] public string OutlierOptToolKind { get; set; } = "";

    /// <summary>The output name (file names and the <c>models/&lt;name&gt;/</c> folder).</summary>
    [Required] public string OutputName { get; set; } = "";

    /// <summary>gguf or safetensors.</summary>
    public string? Format { get; set; }

    /// <summary>The quantization type (gguf: Q8_0, Q4_0, Q4_K_M, … llama.cpp's recipes; safetensors: int8, int4, …).</summary>
    public string? Quantization { get; set; }

    /// <summary>The int4 group size.</summary>
    public string? GroupSize { get; set; }

    /// <summary>The mitigations list; empty: candidates with and without the mitigations compete.</summary>
    public string? Mitigations { get; set; }

    /// <summary>quick or full: how many candidate files are scored (default quick).</summary>
    public string? Search { get; set; }

    /// <summary>Calibration text files or folders, relative to <see cref="ProjectDirectory"/> or absolute.</summary>
    public string[] Calibration { get; set; } = Array.Empty<string>();

    /// <summary>The evaluation text file, relative to <see cref="ProjectDirectory"/> or absolute.</summary>
    public string? EvalText { get; set; }

    /// <summary>An importance matrix (llama.cpp GGUF imatrix or legacy .dat) to quantize with, relative to <see cref="ProjectDirectory"/> or absolute.</summary>
    public string? Imatrix { get; set; }

    /// <summary><c>true</c>: also write the optimized weights' importance matrix as <c>&lt;OutputName&gt;.imatrix.gguf</c> in <see cref="OutputDirectory"/>.</summary>
    public string? ImatrixOut { get; set; }

    /// <summary>The folder relative paths in <see cref="Calibration"/>, <see cref="EvalText"/> and <see cref="Imatrix"/> are resolved against.</summary>
    [Required] public string ProjectDirectory { get; set; } = "";

    /// <summary>The quality gate on perplexity increase (percent).</summary>
    public string? MaxPerplexityIncrease { get; set; }

    /// <summary>The quality gate on mean KL divergence.</summary>
    public string? MaxKlDivergence { get; set; }

    /// <summary>cpu, cuda or auto.</summary>
    public string? Device { get; set; }

    /// <summary>How many calibration tokens the analysis uses.</summary>
    public string? CalibrationTokens { get; set; }

    /// <summary>The calibration sequence length.</summary>
    public string? SequenceLength { get; set; }

    /// <summary>How many evaluation tokens the quality gate uses.</summary>
    public string? EvalTokens { get; set; }

    /// <summary>The seed of self-sampled calibration.</summary>
    public string? Seed { get; set; }

    /// <summary>The files written, with metadata <c>Kind</c>, <c>Sha256</c> and <c>RelativePath</c> (under <see cref="OutputDirectory"/>).</summary>
    [Output] public ITaskItem[] OutputFiles { get; private set; } = Array.Empty<ITaskItem>();

    /// <inheritdoc />
    protected override string ToolName => ToolLocator.CommandName;

    /// <inheritdoc />
    protected override MessageImportance StandardOutputLoggingImportance => MessageImportance.Normal;

    /// <inheritdoc />
    protected override MessageImportance StandardErrorLoggingImportance => MessageImportance.High;

    /// <summary>
    /// The item as people wrote it, quoted, plus the output name when that is not simply the model's own name (two
    /// variants of one model are told apart): <c>'models/m/'</c> or <c>'models/m/' (m-q8)</c>.
    /// </summary>
    private string Label
    {
        get
        {
            string own = Path.GetFileName(ItemSpec.TrimEnd('/', '\\'));
            if (own.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) own = own.Substring(0, own.Length - ".gguf".Length);
            return string.Equals(own, OutputName, StringComparison.Ordinal) ? $"'{ItemSpec}'" : $"'{ItemSpec}' ({OutputName})";
        }
    }

    private ToolLaunchKind Kind => (ToolLaunchKind)Enum.Parse(typeof(ToolLaunchKind), OutlierOptToolKind, ignoreCase: true);

    /// <inheritdoc />
    public override bool Execute()
    {
        if (!Enum.GetNames(typeof(ToolLaunchKind)).Contains(OutlierOptToolKind, StringComparer.OrdinalIgnoreCase))
        {
            Log.LogError(null, BuildErrorCodes.TaskParameterMissing, null, ProjectFile, 0, 0, 0, 0,
                "OptimizeModel: OutlierOptToolKind must be DotnetDll, Executable or LocalTool, not '{0}'.", OutlierOptToolKind);
            return false;
        }
        if (!Prepare()) return false;
        if (Kind == ToolLaunchKind.Executable && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOTNET_ROOT")))
        {
            // An apphost (global or --tool-path install) finds the runtime through DOTNET_ROOT: use the build's own.
            string muxer = DotnetHost.Path();
            if (Path.IsPathRooted(muxer)) EnvironmentVariables = new[] { "DOTNET_ROOT=" + Path.GetDirectoryName(muxer) };
        }
        Log.LogMessage(MessageImportance.High, "OutlierOpt: optimizing {0} -> {1}", Label, OutputDirectory);
        bool succeeded = base.Execute() && !Log.HasLoggedErrors && CollectOutputs();
        if (!succeeded) RemoveOutputs();
        return succeeded;
    }

    /// <inheritdoc />
    protected override string GenerateFullPathToTool() =>
        Kind == ToolLaunchKind.Executable ? OutlierOptToolPath : DotnetHost.Path();

    /// <inheritdoc />
    protected override string GenerateCommandLineCommands()
    {
        var builder = new CommandLineBuilder();
        if (Kind == ToolLaunchKind.DotnetDll) builder.AppendFileNameIfNotNull(OutlierOptToolPath);
        if (Kind == ToolLaunchKind.LocalTool) builder.AppendSwitch("tool run " + ToolLocator.CommandName);
        builder.AppendSwitch("optimize");
        builder.AppendSwitchIfNotNull("--options-file ", OptionsFilePath);
        builder.AppendSwitchIfNotNull("--result-file ", ResultFile);
        builder.AppendSwitch("--diagnostics msbuild");
        return builder.ToString();
    }

    /// <inheritdoc />
    protected override string GetWorkingDirectory() =>
        Kind == ToolLaunchKind.LocalTool ? Path.GetDirectoryName(ProjectFile) ?? "" : base.GetWorkingDirectory();

    /// <inheritdoc />
    protected override void LogEventsFromTextOutput(string singleLine, MessageImportance messageImportance)
    {
        var diagnostic = CanonicalDiagnostic.TryParse(singleLine);
        if (diagnostic is null)
        {
            Log.LogMessage(messageImportance, "{0}", singleLine);
            return;
        }
        string file = diagnostic.Origin;
        int line = diagnostic.Line, column = diagnostic.Column;
        string message = diagnostic.Message;
        if (SamePath(file, OptionsFilePath))
        {
            // The options file is generated: point at the item in the project instead, naming the option.
            string? key = _options.KeyAtLine(line);
            message = key is null ? $"OptimizedModel {Label}: {message}" : $"OptimizedModel {Label}, option '{key}': {message}";
            (file, line, column) = (ProjectFile, 0, 0);
        }
        else if (file.Length == 0 || !Path.IsPathRooted(file) || Directory.Exists(file))
        {
            // No file (a tool name such as "outlier-opt", or the model folder itself): report it against the item.
            message = $"OptimizedModel {Label}: {message}";
            (file, line, column) = (ProjectFile, 0, 0);
        }
        if (diagnostic.IsError)
            Log.LogError(null, diagnostic.Code, null, file, line, column, 0, 0, "{0}", message);
        else
            Log.LogWarning(null, diagnostic.Code, null, file, line, column, 0, 0, "{0}", message);
    }

    /// <inheritdoc />
    protected override bool HandleTaskExecutionErrors()
    {
        if (!Log.HasLoggedErrors)
        {
            Log.LogError(null, BuildErrorCodes.ToolFailed, null, ProjectFile, 0, 0, 0, 0,
                "OptimizedModel {0}: {1} exited with code {2} without reporting an error.", Label, ToolLocator.CommandName, ExitCode);
        }
        return false;
    }

    private bool Prepare()
    {
        _options
            .Add("model", Model)
            .Add("output", OutputDirectory)
            .Add("outputName", OutputName)
            .Add("format", Format)
            .Add("quant", Quantization)
            .Add("groupSize", GroupSize)
            .Add("mitigations", string.IsNullOrWhiteSpace(Mitigations) ? null : Mitigations)
            .Add("search", string.IsNullOrWhiteSpace(Search) ? null : Search!.Trim().ToLowerInvariant())
            .Add("calibration", Calibration.Where(c => !string.IsNullOrWhiteSpace(c)).Select(Resolve).ToArray())
            .Add("evalText", string.IsNullOrWhiteSpace(EvalText) ? null : Resolve(EvalText!))
            .Add("failAbovePplIncrease", MaxPerplexityIncrease)
            .Add("failAboveKld", MaxKlDivergence)
            .Add("device", Device)
            .Add("calibrationTokens", CalibrationTokens)
            .Add("sequenceLength", SequenceLength)
            .Add("evalTokens", EvalTokens)
            .Add("seed", Seed)
            .Add("imatrix", string.IsNullOrWhiteSpace(Imatrix) ? null : Resolve(Imatrix!))
            .Add("imatrixOut", string.Equals(ImatrixOut?.Trim(), "true", StringComparison.OrdinalIgnoreCase)
                ? Path.Combine(Path.GetFullPath(OutputDirectory), OutputName + ImatrixSuffix)
                : null);
        try
        {
            RemoveOutputsOrThrow();
            Directory.CreateDirectory(OutputDirectory);
            string? optionsFolder = Path.GetDirectoryName(Path.GetFullPath(OptionsFilePath));
            if (optionsFolder is not null) Directory.CreateDirectory(optionsFolder);
            _options.Write(OptionsFilePath);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.LogError(null, BuildErrorCodes.IntermediateIoFailed, null, ProjectFile, 0, 0, 0, 0,
                "OptimizedModel {0}: the intermediate files under '{1}' could not be prepared: {2}", Label, OutputDirectory, ex.Message);
            return false;
        }
    }

    private bool CollectOutputs()
    {
        OptimizeResult result;
        try
        {
            result = OptimizeResult.Read(ResultFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            Log.LogError(null, BuildErrorCodes.ResultInvalid, null, ProjectFile, 0, 0, 0, 0,
                "OptimizedModel {0}: {1} reported success but its result file could not be read: {2}", Label, ToolLocator.CommandName, ex.Message);
            return false;
        }
        if (!result.GatePassed)
        {
            Log.LogError(null, BuildErrorCodes.QualityGateFailed, null, ProjectFile, 0, 0, 0, 0,
                "OptimizedModel {0}: the quality gate failed: {1}", Label, result.GateReason ?? "no reason given");
            return false;
        }
        var items = new List<ITaskItem>();
        string root = Path.GetFullPath(OutputDirectory).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        foreach (var output in result.Outputs)
        {
            if (!File.Exists(output.Path) || !Path.GetFullPath(output.Path).StartsWith(root, StringComparison.Ordinal))
            {
                Log.LogError(null, BuildErrorCodes.ResultInvalid, null, ProjectFile, 0, 0, 0, 0,
                    "OptimizedModel {0}: the result file lists '{1}', which is not a file under '{2}'.", Label, output.Path, OutputDirectory);
                return false;
            }
            var item = new TaskItem(output.Path);
            item.SetMetadata("Kind", output.Kind);
            item.SetMetadata("Sha256", output.Sha256);
            item.SetMetadata("RelativePath", Path.GetFullPath(output.Path).Substring(root.Length));
            items.Add(item);
        }
        OutputFiles = items.ToArray();
        string measured = result.PerplexityIncrease is { } increase
            ? $", perplexity +{increase * 100:0.###}%" + (result.KlDivergence is { } kld ? $", KL {kld:0.######}" : "")
            : "";
        Log.LogMessage(MessageImportance.High, "OutlierOpt: {0} optimized, {1} file(s){2}", Label, items.Count, measured);
        return true;
    }

    private void RemoveOutputs()
    {
        try
        {
            RemoveOutputsOrThrow();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.LogWarning(null, BuildErrorCodes.IntermediateIoFailed, null, ProjectFile, 0, 0, 0, 0,
                "OptimizedModel {0}: the outputs of the failed run could not be removed: {1}", Label, ex.Message);
        }
    }

    private void RemoveOutputsOrThrow()
    {
        if (File.Exists(ResultFile)) File.Delete(ResultFile);
        if (Directory.Exists(OutputDirectory)) Directory.Delete(OutputDirectory, recursive: true);
    }

    private string Resolve(string path) => Path.GetFullPath(Path.Combine(ProjectDirectory, path.Trim()));

    private static bool SamePath(string a, string b)
    {
        if (a.Length == 0 || b.Length == 0) return false;
        try
        {
            return string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return false;
        }
    }
}
