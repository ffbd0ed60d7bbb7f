using System.Globalization;
using Optimizer.Engine;
using Optimizer.Engine.Pipeline;
using Optimizer.Tool.Cli;

namespace Optimizer.Tool.Optimize;

/// <summary>
/// Turns an <see cref="OptimizeRequest"/> into <see cref="OptimizeOptions"/>. A bad value from the command line is a
/// <see cref="UsageException"/> naming the option (exit 2); from an options file it is an <see cref="OptimizerException"/>
/// <see cref="ErrorCodes.OptionsFileBadValue"/> at the value's line and column. Relative paths in an options file resolve
/// against the file's folder.
/// </summary>
public static class OptimizeRequestBinder
{
    /// <summary>Builds the engine options; <paramref name="toolVersion"/> is recorded in the manifest.</summary>
    public static OptimizeOptions Bind(OptimizeRequest request, string toolVersion, string commandPath)
    {
        var b = new Binder(request, commandPath);
        string model = b.Path(OptimizeOptionNames.Model) ?? throw b.Missing(OptimizeOptionNames.Model, "the model folder or .gguf file");
        string output = b.Path(OptimizeOptionNames.Output) ?? throw b.Missing(OptimizeOptionNames.Output, "the output folder");
        OutputFormat format = OutputFormat.Gguf;
        if (request.Get(OptimizeOptionNames.Format) is { } f && !OutputFormats.TryParse(f.Text, out format))
            throw b.Bad(OptimizeOptionNames.Format, "must be gguf or safetensors");
        string? quant = b.Quant(format);
        var defaults = new OptimizeOptions { Model = model, Output = output };
        var options = defaults with
        {
            Format = format,
            Quant = quant,
            GroupSize = b.Integer(OptimizeOptionNames.GroupSize, 32, 128, v => v is 32 or 128, "must be 32 or 128") ?? defaults.GroupSize,
            Mitigations = b.Mitigations() ?? defaults.Mitigations,
            MitigationsExplicit = request.Get(OptimizeOptionNames.Mitigations) is not null,
            Search = b.Search() ?? defaults.Search,
            Candidates = b.Candidates(),
            Calibration = request.Calibration.Select(c => b.ResolvePath(c, OptimizeOptionNames.Calibration)).ToArray(),
            EvalText = b.Path(OptimizeOptionNames.EvalText),
            Imatrix = b.Path(OptimizeOptionNames.Imatrix),
            ImatrixOut = b.Path(OptimizeOptionNames.ImatrixOut),
            MaxPplIncrease = b.Percent(OptimizeOptionNames.MaxPplIncrease) ?? defaults.MaxPplIncrease,
            FailAbovePplIncrease = b.Percent(OptimizeOptionNames.FailAbovePplIncrease),
            FailAboveKld = b.NonNegative(OptimizeOptionNames.FailAboveKld),
            OutputName = b.Text(OptimizeOptionNames.OutputName),
            Device = b.Device() ?? defaults.Device,
            MaxMemoryBytes = b.Size(OptimizeOptionNames.MaxMemory),
            CalibrationTokens = b.Integer(OptimizeOptionNames.CalibrationTokens, 2, int.MaxValue) ?? defaults.CalibrationTokens,
            SequenceLength = b.Integer(OptimizeOptionNames.SequenceLength, 2, int.MaxValue) ?? defaults.SequenceLength,
            Seed = b.Seed() ?? defaults.Seed,
            EvalTokens = b.Integer(OptimizeOptionNames.EvalTokens, 2, int.MaxValue) ?? defaults.EvalTokens,
            BatchSize = b.Integer(OptimizeOptionNames.Batch, 1, 4096) ?? defaults.BatchSize,
            ToolVersion = toolVersion,
        };
        if (options.Imatrix is not null && options.Format != OutputFormat.Gguf)
            throw b.Bad(OptimizeOptionNames.Imatrix, "is used to quantize GGUF weights; it does not apply to --format safetensors");
        if (options.CalibrationTokens < options.SequenceLength)
            throw b.Bad(OptimizeOptionNames.CalibrationTokens, $"({options.CalibrationTokens}) is fewer than one sequence of {options.SequenceLength} tokens");
        return options;
    }

    private sealed class Binder(OptimizeRequest request, string commandPath)
    {
        private readonly string? _base = request.OptionsFile is { } file ? System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file)) : null;

        public Exception Missing(string key, string what) => request.OptionsFile is { } file
            ? new OptimizerException(ErrorCodes.OptimizeArgumentsConflict, $"The options file has no '{key}' ({what}).", file, 1, 1)
            : new UsageException(ErrorCodes.CliMissingArgument,
                key == OptimizeOptionNames.Model ? "The <model> argument is missing." : $"The {OptimizeOptionNames.Flag(key)} option is required ({what}).", commandPath);

        public Exception Bad(string key, string problem)
        {
            RequestValue? value = request.Get(key);
            string shown = value is null ? "" : $", not '{value.Text}'";
            if (request.OptionsFile is { } file)
                return new OptimizerException(ErrorCodes.OptionsFileBadValue, $"'{key}' {problem}{shown}.", file, Math.Max(value?.Line ?? 1, 1), Math.Max(value?.Column ?? 1, 1));
            return new UsageException(ErrorCodes.CliInvalidValue, $"{OptimizeOptionNames.Flag(key)} {problem}{shown}.", commandPath);
        }

        public string? Text(string key)
        {
            if (request.Get(key) is not { } v) return null;
            if (string.IsNullOrWhiteSpace(v.Text)) throw Bad(key, "must not be empty");
            return v.Text.Trim();
        }

        public string? Path(string key) => request.Get(key) is { } v ? ResolvePath(v, key) : null;

        public string ResolvePath(RequestValue value, string key)
        {
            if (string.IsNullOrWhiteSpace(value.Text))
            {
                if (request.OptionsFile is { } file)
                    throw new OptimizerException(ErrorCodes.OptionsFileBadValue, $"'{key}' must be a path, not an empty string.", file, Math.Max(value.Line, 1), Math.Max(value.Column, 1));
                throw new UsageException(ErrorCodes.CliInvalidValue, $"{OptimizeOptionNames.Flag(key)} needs a path.", commandPath);
            }
            return _base is null || System.IO.Path.IsPathRooted(value.Text) ? value.Text : System.IO.Path.GetFullPath(System.IO.Path.Combine(_base, value.Text));
        }

        public IReadOnlyList<string>? Candidates()
        {
            if (Text(OptimizeOptionNames.Candidates) is not { } text) return null;
            var names = text.Split(',').Select(n => n.Trim().ToLowerInvariant()).ToArray();
            foreach (string name in names)
                if (!OptimizeOptions.CandidateNames.Contains(name, StringComparer.Ordinal))
                    throw Bad(OptimizeOptionNames.Candidates, $"must be a comma list of {string.Join(", ", OptimizeOptions.CandidateNames)}");
            return names.Distinct(StringComparer.Ordinal).ToArray();
        }

        public SearchMode? Search()
        {
            if (Text(OptimizeOptionNames.Search) is not { } text) return null;
            return text.Trim().ToLowerInvariant() switch
            {
                "quick" => SearchMode.Quick,
                "full" => SearchMode.Full,
                _ => throw Bad(OptimizeOptionNames.Search, "must be quick or full"),
            };
        }

        public string? Mitigations()
        {
            if (Text(OptimizeOptionNames.Mitigations) is not { } text) return null;
            try
            {
                Engine.Transforms.Mitigations.Parse(text);
            }
            catch (OptimizerException ex) when (ex.Code == ErrorCodes.MitigationListInvalid)
            {
                throw Bad(OptimizeOptionNames.Mitigations, "must be all, none, or a comma list of norm, smooth, otc, tma, tma-clamp");
            }
            return text;
        }

        public string? Quant(OutputFormat format)
        {
            if (request.Get(OptimizeOptionNames.Quant) is not { } v) return null;
            var allowed = format == OutputFormat.Gguf ? OptimizeOptions.GgufQuants : OptimizeOptions.SafetensorsQuants;
            string? match = allowed.FirstOrDefault(q => string.Equals(q, v.Text.Trim(), StringComparison.OrdinalIgnoreCase));
            return match ?? throw Bad(OptimizeOptionNames.Quant, $"must be one of {string.Join(", ", allowed)} for {OutputFormats.Id(format)} output");
        }

        public int? Integer(string key, int min, int max, Func<int, bool>? accept = null, string? problem = null)
        {
            if (request.Get(key) is not { } v) return null;
            if (!int.TryParse(v.Text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < min || value > max || (accept is not null && !accept(value)))
                throw Bad(key, problem ?? $"must be an integer from {min} to {max}");
            return value;
        }

        public double? Percent(string key)
        {
            if (request.Get(key) is not { } v) return null;
            if (!PercentValue.TryParse(v.Text, out double fraction)) throw Bad(key, "must be a non-negative percentage such as 2% or 2");
            return fraction;
        }

        public double? NonNegative(string key)
        {
            if (request.Get(key) is not { } v) return null;
            if (!double.TryParse(v.Text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value) || value < 0)
                throw Bad(key, "must be a non-negative number");
            return value;
        }

        public long? Size(string key)
        {
            if (request.Get(key) is not { } v) return null;
            if (!ByteSize.TryParse(v.Text, out long bytes)) throw Bad(key, "must be a size such as 4GiB, 512M or 1073741824");
            return bytes;
        }

        public ulong? Seed()
        {
            if (request.Get(OptimizeOptionNames.Seed) is not { } v) return null;
            if (!ulong.TryParse(v.Text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed) || seed > long.MaxValue)
                throw Bad(OptimizeOptionNames.Seed, $"must be an integer from 0 to {long.MaxValue}");
            return seed;
        }

        public string? Device()
        {
            if (request.Get(OptimizeOptionNames.Device) is not { } v) return null;
            string value = v.Text.Trim().ToLowerInvariant();
            if (value is "cpu" or "cuda" or "auto") return value;
            if (value.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(value.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out _))
                return value;
            throw Bad(OptimizeOptionNames.Device, "must be cpu, cuda, cuda:N or auto");
        }
    }
}
