namespace Optimizer.Engine.Formats;

/// <summary>
/// A Hugging Face model folder opened for reading: its validated <c>config.json</c>, its safetensors weights checked
/// against the tensors the config requires (name, shape, float type), and its tokenizer (loaded on first use).
/// Pickle checkpoints are refused, because loading them can execute arbitrary code.
/// </summary>
public sealed class ModelFolder : IDisposable
{
    /// <summary>File extensions of pickle-based PyTorch checkpoints.</summary>
    public static readonly string[] PickleExtensions = { ".bin", ".pt", ".pth", ".ckpt" };

    private static readonly string[] TokenizerFiles = { ByteLevelBpeLoader.FileName, SentencePieceLoader.FileName, "tokenizer_config.json" };

    private readonly Lazy<ModelTokenizer> _tokenizer;
    private readonly bool _ownsWeights;

    private ModelFolder(string path, ModelConfig config, ITensorSource weights)
        : this(path, config, weights, new Lazy<ModelTokenizer>(() => ModelTokenizer.Load(path, config)), ListFiles(path, weights), ownsWeights: true)
    {
    }

    /// <summary>
    /// A model read from something other than a Hugging Face folder (e.g. a GGUF file): <paramref name="path"/> is the
    /// folder that holds it, <paramref name="files"/> the files it was read from (relative to that folder), and
    /// <paramref name="tokenizer"/> builds its tokenizer on first use. The new instance owns and disposes
    /// <paramref name="weights"/>.
    /// </summary>
    public ModelFolder(string path, ModelConfig config, ITensorSource weights, Func<ModelTokenizer> tokenizer, IReadOnlyList<ModelFileEntry> files)
        : this(path, config, weights, new Lazy<ModelTokenizer>(tokenizer ?? throw new ArgumentNullException(nameof(tokenizer))), files, ownsWeights: true)
    {
    }

    private ModelFolder(string path, ModelConfig config, ITensorSource weights, Lazy<ModelTokenizer> tokenizer,
        IReadOnlyList<ModelFileEntry> files, bool ownsWeights)
    {
        Path = path;
        Config = config;
        Weights = weights;
        _tokenizer = tokenizer;
        _ownsWeights = ownsWeights;
        Files = files;
        ParameterCount = weights.Tensors.Aggregate(0L, (sum, t) => checked(sum + t.ElementCount));
        TensorDTypes = weights.Tensors
            .GroupBy(t => t.DType)
            .Select(g => new DTypeCount(g.Key, g.Count(), g.Aggregate(0L, (sum, t) => checked(sum + t.ElementCount))))
            .OrderByDescending(c => c.Parameters).ThenBy(c => c.DType)
            .ToList();
    }

    /// <summary>The full path of the model folder.</summary>
    public string Path { get; }

    /// <summary>The model's name: the name of its folder (for a <c>.gguf</c> file, of the folder holding it).</summary>
    public string Name => System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(Path)));

    /// <summary>The validated <c>config.json</c>.</summary>
    public ModelConfig Config { get; }

    /// <summary>The weights (memory-mapped; valid until the folder is disposed).</summary>
    public ITensorSource Weights { get; }

    /// <summary>The tokenizer, loaded on first access; a missing or invalid tokenizer fails only then.</summary>
    public ModelTokenizer Tokenizer => _tokenizer.Value;

    /// <summary>The files the model is read from (config, weights, tokenizer files), relative to <see cref="Path"/>, sorted.</summary>
    public IReadOnlyList<ModelFileEntry> Files { get; }

    /// <summary>Total number of stored weight elements.</summary>
    public long ParameterCount { get; }

    /// <summary>Tensors and parameters per element type, most parameters first.</summary>
    public IReadOnlyList<DTypeCount> TensorDTypes { get; }

    /// <summary>
    /// Opens the model folder at <paramref name="path"/> (the folder or a file inside it) and validates config and weights.
    /// A <c>.gguf</c> file is opened as a GGUF model (<see cref="Gguf.GgufModelReader"/>).
    /// </summary>
    public static ModelFolder Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = System.IO.Path.GetFullPath(path);
        if (File.Exists(full) && Gguf.GgufModelReader.IsGgufPath(full)) return Gguf.GgufModelReader.Open(full);
        string folder = Directory.Exists(full) ? full
            : File.Exists(full) ? System.IO.Path.GetDirectoryName(full)!
            : throw new OptimizerException(ErrorCodes.ModelNotFound, "The model folder does not exist.", path);
        // A file inside a model folder stands for its folder; any other file is not a model.
        if (File.Exists(full) && !File.Exists(System.IO.Path.Combine(folder, "config.json")))
            throw new OptimizerException(ErrorCodes.ModelNotFound,
                "This is a file, not a model: give a Hugging Face model folder (config.json, safetensors weights, tokenizer) or a .gguf file.", path);
        var config = ModelConfig.Load(System.IO.Path.Combine(folder, "config.json"));
        var weights = OpenWeights(folder);
        try
        {
            // phi3 stores q/k/v and gate/up fused; the engine sees them split (docs/model-families.md, "Phi-3").
            if (config.HasFusedProjections) weights = new FusedTensorSource(weights, config, ownsInner: true, folder);
            Validate(config, weights, folder);
            return new ModelFolder(folder, config, weights);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    private static ITensorSource OpenWeights(string folder)
    {
        foreach (string name in new[] { SafetensorsCheckpoint.SingleFileName, ShardIndex.FileName })
        {
            string file = System.IO.Path.Combine(folder, name);
            if (Directory.Exists(file)) FileKind.RequireRegular(file, "weights file", ErrorCodes.NoWeights);
        }
        if (SafetensorsCheckpoint.Exists(folder))
        {
            // Our int8/int4 folders (docs/safetensors-int.md) are read as float weights, dequantized on read.
            return (ITensorSource?)HfExport.IntCheckpointSource.TryOpen(folder) ?? SafetensorsCheckpoint.Open(folder);
        }
        var names = Directory.EnumerateFiles(folder).Select(f => System.IO.Path.GetFileName(f)).Order(StringComparer.Ordinal).ToList();
        var pickles = names.Where(n => PickleExtensions.Contains(System.IO.Path.GetExtension(n), StringComparer.OrdinalIgnoreCase)).ToList();
        if (pickles.Count > 0)
            throw new OptimizerException(ErrorCodes.PickleRefused,
                $"The folder has only pickle checkpoints ({string.Join(", ", pickles)}). Loading pickle can execute arbitrary code, so it is refused. " +
                "Convert the model to safetensors, e.g. in Python: AutoModelForCausalLM.from_pretrained(folder).save_pretrained(out, safe_serialization=True).",
                folder);
        var stray = names.Where(n => n.EndsWith(".safetensors", StringComparison.Ordinal)).ToList();
        throw new OptimizerException(ErrorCodes.NoWeights, stray.Count > 0
            ? $"No weights: the folder has {string.Join(", ", stray)} but neither {SafetensorsCheckpoint.SingleFileName} nor {ShardIndex.FileName}."
            : $"No weights: the folder has no {SafetensorsCheckpoint.SingleFileName} and no {ShardIndex.FileName}.", folder);
    }

    private static void Validate(ModelConfig config, ITensorSource weights, string folder)
    {
        // Stored layers the config does not count would be dropped silently from every output.
        foreach (var tensor in weights.Tensors)
        {
            if (LayerIndex(tensor.Name) is int layer && layer >= config.NumHiddenLayers)
                throw new OptimizerException(ErrorCodes.ConfigWeightsMismatch,
                    $"The weights hold layer {layer} ('{tensor.Name}') but config.json says \"num_hidden_layers\": {config.NumHiddenLayers}; " +
                    "correct the config or remove the extra layers.", System.IO.Path.Combine(folder, "config.json"));
        }
        foreach (var (_, _, name, shape) in LlamaTensorNames.Expected(config))
        {
            var tensor = weights.Find(name)
                ?? throw new OptimizerException(ErrorCodes.TensorMissing, $"The weights have no tensor '{name}', which the config requires.", folder);
            string file = System.IO.Path.Combine(folder, tensor.File);
            if (!tensor.Shape.AsSpan().SequenceEqual(shape))
                throw new OptimizerException(ErrorCodes.TensorShapeMismatch,
                    $"Tensor '{name}' has shape {tensor.ShapeText} but the config implies [{string.Join(", ", shape)}].", file);
            if (!DTypes.IsWeightFloat(tensor.DType))
                throw new OptimizerException(ErrorCodes.UnsupportedDType,
                    $"Tensor '{name}' is {DTypes.SafetensorsName(tensor.DType)}; weights must be F32, F16 or BF16.", file);
        }
    }

    /// <summary>N of a <c>model.layers.N.</c> tensor name; null for other names.</summary>
    private static int? LayerIndex(string name)
    {
        const string prefix = "model.layers.";
        if (!name.StartsWith(prefix, StringComparison.Ordinal)) return null;
        int end = name.IndexOf('.', prefix.Length);
        return end > prefix.Length && int.TryParse(name.AsSpan(prefix.Length, end - prefix.Length), System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out int layer) ? layer : null;
    }

    private static List<ModelFileEntry> ListFiles(string folder, ITensorSource weights)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal) { "config.json" };
        if (File.Exists(System.IO.Path.Combine(folder, SafetensorsCheckpoint.SingleFileName)))
        {
            names.Add(SafetensorsCheckpoint.SingleFileName);
        }
        else
        {
            names.Add(ShardIndex.FileName);
            foreach (var tensor in weights.Tensors) names.Add(tensor.File);
        }
        foreach (string name in TokenizerFiles)
        {
            if (File.Exists(System.IO.Path.Combine(folder, name))) names.Add(name);
        }
        return names.Select(n => new ModelFileEntry(n, new FileInfo(System.IO.Path.Combine(folder, n)).Length)).ToList();
    }

    /// <summary>
    /// The same model (path, config, tokenizer, files) seen through other weights, e.g. a transformed or fake-quantized
    /// view of <see cref="Weights"/>. The view does not own <paramref name="weights"/>: disposing it disposes nothing,
    /// and this instance must outlive it.
    /// </summary>
    public ModelFolder WithWeights(ITensorSource weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        return new ModelFolder(Path, Config, weights, _tokenizer, Files, ownsWeights: false);
    }

    /// <summary>Unmaps the weights (unless this is a <see cref="WithWeights"/> view).</summary>
    public void Dispose()
    {
        if (_ownsWeights) Weights.Dispose();
    }
}
