using System.Security.Cryptography;

namespace Optimizer.Engine.Formats.HfExport;

/// <summary>
/// Writes a model as a Hugging Face folder: <c>model.safetensors</c> (or shards with <c>model.safetensors.index.json</c>
/// above <see cref="HfExportOptions.MaxShardBytes"/>) holding float weights or our int8/int4 layout
/// (docs/safetensors-int.md), <c>config.json</c> (with <c>torch_dtype</c> and, for int weights, a
/// <c>quantization_config</c>), and the source's tokenizer files copied byte for byte. Tensors are read from the given
/// weights one at a time while being written. The folder is filled under a temporary name beside the target and renamed
/// into place only when complete (replacing an existing folder only then), so after a failure or cancellation the target
/// is as it was and nothing temporary remains. The same input and options give the same bytes.
/// </summary>
public static class HfFolderExporter
{
    /// <summary>The tokenizer files copied from the source folder when present.</summary>
    public static readonly string[] TokenizerFileNames =
    {
        "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    };

    private static readonly Dictionary<string, string> SafetensorsMetadata = new(StringComparer.Ordinal) { ["format"] = "pt" };

    /// <summary>
    /// Exports <paramref name="model"/> seen through <paramref name="weights"/> (the model's own weights or a view of
    /// them, e.g. transformed) into <paramref name="folder"/>, whose parent must exist.
    /// </summary>
    public static HfExportResult Export(ModelFolder model, ITensorSource weights, HfExportOptions options, string folder,
        IProgress<HfExportProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(folder);
        options.Validate();
        // phi3 is written with its fused qkv_proj / gate_up_proj (docs/model-families.md, "Phi-3").
        using var fusedView = model.Config.HasFusedProjections ? new RefusedProjections(weights, model.Config) : null;
        if (fusedView is not null) weights = fusedView;
        CheckTarget(model, folder);
        DType floatType = options.FloatDType ?? DefaultFloatType(model);
        var roundTrip = options.CreateRoundTrip(model.Config);
        var quantization = roundTrip is null ? null
            : new IntQuantizationConfig(roundTrip.Bits, roundTrip.GroupSize, roundTrip.ScaleType, roundTrip.QuantizeEmbeddings);
        var plan = HfShardPlan.Create(model.Config, weights, roundTrip, floatType, options.MaxShardBytes);

        using var staging = StagingFolder.Create(folder);
        var written = new Dictionary<string, HfExportTensor>(StringComparer.Ordinal);
        var entries = new HfTensorEntries(weights, floatType, roundTrip, tensor =>
        {
            written.Add(tensor.Name, tensor);
            progress?.Report(new HfExportProgress(written.Count, plan.Tensors.Count, tensor.Name));
        }, ct);
        foreach (var shard in plan.Shards)
        {
            SafetensorsWriter.Write(staging.File(shard.FileName), shard.Tensors.SelectMany(entries.For), SafetensorsMetadata);
        }
        if (plan.Shards.Count > 1) AtomicFile.WriteText(staging.File(ShardIndex.FileName), plan.IndexJson());
        AtomicFile.WriteText(staging.File("config.json"), HfConfigJson.Build(model, floatType, quantization));
        var tokenizerFiles = CopyTokenizerFiles(model, staging, ct);
        ct.ThrowIfCancellationRequested();
        var files = Describe(staging.Path, ct);
        staging.Commit();
        return new HfExportResult
        {
            Folder = staging.Target,
            Files = files,
            Tensors = plan.Tensors.Select(t => written[t.Name]).ToList(),
            TokenizerFiles = tokenizerFiles,
        };
    }

    /// <summary>The float type holding most of the source model's parameters, or F32 when that is not a float type.</summary>
    public static DType DefaultFloatType(ModelFolder model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.TensorDTypes.Count > 0 && DTypes.IsWeightFloat(model.TensorDTypes[0].DType) ? model.TensorDTypes[0].DType : DType.F32;
    }

    private static void CheckTarget(ModelFolder model, string folder)
    {
        string target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        string source = Path.TrimEndingDirectorySeparator(Path.GetFullPath(model.Path));
        if (string.Equals(target, source, StringComparison.Ordinal)
            || source.StartsWith(target + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new OptimizerException(ErrorCodes.HfExportOutputInvalid,
                "The output folder is (or contains) the input model's folder; replacing it would delete the model. Choose another folder.", folder);
    }

    private static List<string> CopyTokenizerFiles(ModelFolder model, StagingFolder staging, CancellationToken ct)
    {
        bool hfFolder = model.Files.Any(f => f.RelativePath == "config.json");
        var copied = new List<string>();
        foreach (string name in TokenizerFileNames)
        {
            string source = Path.Combine(model.Path, name);
            bool listed = model.Files.Any(f => f.RelativePath == name);
            if (!(listed || hfFolder) || !File.Exists(source)) continue;
            ct.ThrowIfCancellationRequested();
            AtomicFile.Write(staging.File(name), target =>
            {
                using var input = OpenRead(source);
                input.CopyTo(target);
            });
            copied.Add(name);
        }
        copied.Sort(StringComparer.Ordinal);
        return copied;
    }

    private static FileStream OpenRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptimizerException(ErrorCodes.FileUnreadable, $"The file cannot be read: {ex.Message}", path, inner: ex);
        }
    }

    private static List<HfExportFile> Describe(string folder, CancellationToken ct)
    {
        var files = new List<HfExportFile>();
        foreach (string path in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            ct.ThrowIfCancellationRequested();
            using var stream = OpenRead(path);
            string hash = Convert.ToHexStringLower(SHA256.HashData(stream));
            files.Add(new HfExportFile(Path.GetFileName(path), stream.Length, hash));
        }
        return files;
    }
}
