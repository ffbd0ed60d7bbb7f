using McMaster.Extensions.CommandLineUtils;
using Optimizer.Tool.Cli;
using Optimizer.Tool.Inspect;

namespace Optimizer.Tool.Commands;

/// <summary>
/// <c>inspect &lt;model&gt;</c>: architecture, parameter count, dtypes, files, tokenizer and tensor table of a model folder,
/// as text or (<c>--json</c>) as deterministic JSON. Reads headers only; no tensor data is loaded.
/// </summary>
public sealed class InspectCommand : IToolCommand
{
    private const string CommandPath = ToolInfo.DisplayName + " inspect";
    private CommandArgument? _model;
    private CommandOption? _json;
    private CommandOption? _noTensors;

    public string Name => "inspect";

    public string Description => "Show a model's architecture, parameter count, files, tokenizer and tensors.";

    public void Configure(CommandLineApplication command)
    {
        _model = command.Argument("model", "Model folder: config.json, model.safetensors (or shards with model.safetensors.index.json), tokenizer.");
        _json = command.Option("--json", "Print the summary as JSON (schema outlier-opt-inspect/1; same model, same bytes).", CommandOptionType.NoValue);
        _noTensors = command.Option("--no-tensors", "Leave out the tensor table (text output only).", CommandOptionType.NoValue);
        command.ExtendedHelpText = @"
Exit codes: 0 success, 1 the model cannot be read (error OOPT1nnn names the file), 2 usage error.

Examples:
  dotnet outlier-opt inspect models/tiny-llama
  dotnet outlier-opt inspect models/tiny-llama --no-tensors
  dotnet outlier-opt inspect models/tiny-llama --json > tiny-llama.inspect.json";
    }

    public Task<int> ExecuteAsync(ToolContext context)
    {
        string path = OptionValues.Required(_model!, CommandPath);
        bool json = _json!.HasValue();
        if (json && _noTensors!.HasValue())
            throw new UsageException(Engine.ErrorCodes.CliInvalidValue, "--no-tensors applies to text output only, not to --json.", CommandPath);
        ModelSummary summary = ModelSummaryReader.Read(path);
        context.ThrowIfCancelled();
        if (json)
        {
            context.Out.Write(ModelSummaryJson.Render(summary));
        }
        else
        {
            ModelSummaryText.Write(summary, context.Out, includeTensors: !_noTensors!.HasValue());
        }
        context.Out.Flush();
        return Task.FromResult(ExitCodes.Success);
    }
}
