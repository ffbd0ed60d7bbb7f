using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Formats.HfExport;
using Optimizer.Engine.Manifest;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Quantization.ErrorCompensation;
using Optimizer.Engine.Quantization.Imatrix;

namespace Optimizer.Engine.Pipeline;

/// <summary>
/// Writes the optimized weights and then the manifest. Everything is first written into a hidden staging folder inside
/// the output folder (the exporters stream one tensor at a time) and moved into place only when complete — weights
/// first, the manifest last — so a failed or cancelled run leaves neither and no temporary files.
/// </summary>
public static class OutputStage
{
    /// <summary>The suffix of the manifest file name.</summary>
    public const string ManifestSuffix = ".manifest.json";

    /// <summary>The weights as written by an exporter, still in the staging folder.</summary>
    private sealed record StagedWeights(string StagedPath, string FinalPath, bool IsFolder, IReadOnlyList<OptimizeOutput> Outputs, IReadOnlyList<QuantizedTensorRecord> Tensors);

    /// <summary>
    /// Exports <paramref name="weights"/> in the format of <paramref name="options"/>, completes the manifest with
    /// <paramref name="complete"/> (given the quantization section and the outputs) and writes both. Returns the outputs,
    /// manifest last, and the manifest as written. GGUF weights are quantized with <paramref name="importance"/> when given;
    /// tensors <paramref name="encoded"/> holds are written as encoded.
    /// </summary>
    public static (IReadOnlyList<OptimizeOutput> Outputs, OutlierManifest Manifest) Write(ModelFolder model, ITensorSource weights, OptimizeOptions options,
        string name, Func<ManifestQuantization, IReadOnlyList<ManifestOutput>, OutlierManifest> complete, IProgress<OptimizeProgress>? progress,
        System.Diagnostics.Stopwatch watch, CancellationToken ct, ImportanceMatrix? importance = null, EncodedWeights? encoded = null)
    {
        // The output folder exists: the pipeline's OutputFolderLock created (or found) it and holds it for the run.
        string output = Path.GetFullPath(options.Output);
        if (Directory.Exists(Path.Combine(output, name + ManifestSuffix)))
            throw new OptimizerException(ErrorCodes.OptimizeOutputInvalid, "A folder is in the way of the manifest file.", Path.Combine(output, name + ManifestSuffix));
        string staging = Path.Combine(output, "." + name + "." + Guid.NewGuid().ToString("N")[..8] + ".partial");
        try
        {
            Directory.CreateDirectory(staging);
            StagedWeights staged = options.Format == OutputFormat.Gguf
                ? Gguf(model, weights, options, name, staging, output, progress, watch, ct, importance, encoded)
                : Safetensors(model, weights, options, name, staging, output, progress, watch, ct);
            var quantization = new ManifestQuantization(OutputFormats.Id(options.Format), options.EffectiveQuant,
                options.EffectiveQuant == "int4" ? options.GroupSize : null, staged.Tensors);
            var manifestOutputs = staged.Outputs.Select(o => new ManifestOutput(o.RelativePath, o.Kind, o.Bytes, o.Sha256)).ToArray();
            OutlierManifest manifest = complete(quantization, manifestOutputs);
            string stagedManifest = Path.Combine(staging, name + ManifestSuffix);
            ManifestWriter.Write(stagedManifest, manifest);
            ct.ThrowIfCancellationRequested();

            string finalManifest = Path.Combine(output, name + ManifestSuffix);
            MoveIntoPlace(staged.StagedPath, staged.FinalPath, staged.IsFolder);
            File.Move(stagedManifest, finalManifest, overwrite: true);
            var bytes = new FileInfo(finalManifest).Length;
            var outputs = staged.Outputs.Append(new OptimizeOutput(finalManifest, name + ManifestSuffix, ManifestOutput.Manifest, bytes, ModelFileHashes.Sha256(finalManifest))).ToArray();
            return (outputs, manifest);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptimizerException(ErrorCodes.WriteFailed, $"Writing the outputs failed: {ex.Message}", output, inner: ex);
        }
        finally
        {
            try
            {
                if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The staging folder is hidden and uniquely named; a leftover does not affect later runs.
            }
        }
    }

    private static StagedWeights Gguf(ModelFolder model, ITensorSource weights, OptimizeOptions options, string name, string staging, string output,
        IProgress<OptimizeProgress>? progress, System.Diagnostics.Stopwatch watch, CancellationToken ct, ImportanceMatrix? importance, EncodedWeights? encoded)
    {
        string file = name + ".gguf";
        QuantizationRecipe recipe = QuantizationRecipe.Parse(options.EffectiveQuant);
        int layers = model.Config.NumHiddenLayers;
        var report = progress is null ? null : new Relay<GgufExportProgress>(p =>
            progress.Report(new OptimizeProgress("writing", LayerOf(p.Name, layers, p.Index, p.Count), layers, "layers", watch.Elapsed)));
        GgufExportResult result = LlamaGgufExporter.Export(model, weights, recipe, Path.Combine(staging, file), report, ct, importance, encoded);
        var tensors = result.Tensors.Select(t => new QuantizedTensorRecord(t.SourceName, GgmlTypes.Name(t.Type), t.RelativeRmse)).ToArray();
        string final = Path.Combine(output, file);
        return new StagedWeights(result.Path, final, false, new[] { new OptimizeOutput(final, file, ManifestOutput.Weights, result.FileBytes, result.Sha256) }, tensors);
    }

    private static StagedWeights Safetensors(ModelFolder model, ITensorSource weights, OptimizeOptions options, string name, string staging, string output,
        IProgress<OptimizeProgress>? progress, System.Diagnostics.Stopwatch watch, CancellationToken ct)
    {
        HfExportOptions export = HfExportOptions.Parse(options.EffectiveQuant, options.GroupSize);
        int layers = model.Config.NumHiddenLayers;
        var report = progress is null ? null : new Relay<HfExportProgress>(p =>
            progress.Report(new OptimizeProgress("writing", LayerOf(p.Tensor, layers, p.Done, p.Total), layers, "layers", watch.Elapsed)));
        HfExportResult result = HfFolderExporter.Export(model, weights, export, Path.Combine(staging, name), report, ct);
        string final = Path.Combine(output, name);
        var tokenizer = new HashSet<string>(result.TokenizerFiles, StringComparer.Ordinal);
        var outputs = result.Files.Select(f => new OptimizeOutput(
            Path.Combine(final, f.RelativePath), name + "/" + f.RelativePath.Replace('\\', '/'),
            tokenizer.Contains(f.RelativePath) ? ManifestOutput.Tokenizer : f.RelativePath == "config.json" ? ManifestOutput.Config : ManifestOutput.Weights,
            f.Bytes, f.Sha256)).ToArray();
        var tensors = result.Tensors.Select(t => new QuantizedTensorRecord(t.Name, t.Storage, t.RelativeRmse)).ToArray();
        return new StagedWeights(result.Folder, final, true, outputs, tensors);
    }

    private static void MoveIntoPlace(string staged, string final, bool isFolder)
    {
        if (!isFolder)
        {
            if (Directory.Exists(final)) throw new OptimizerException(ErrorCodes.OptimizeOutputInvalid, "A folder is in the way of the weights file.", final);
            File.Move(staged, final, overwrite: true);
            return;
        }
        if (File.Exists(final)) throw new OptimizerException(ErrorCodes.OptimizeOutputInvalid, "A file is in the way of the weights folder.", final);
        if (Directory.Exists(final))
        {
            string old = final + "." + Guid.NewGuid().ToString("N")[..8] + ".old";
            Directory.Move(final, old);
            Directory.Move(staged, final);
            Directory.Delete(old, recursive: true);
        }
        else
        {
            Directory.Move(staged, final);
        }
    }

    /// <summary>Layers completed when the exporter reaches tensor <paramref name="tensor"/> (model-level tensors count as 0 or all).</summary>
    private static long LayerOf(string tensor, int layers, long index, long count)
    {
        int at = tensor.IndexOf("layers.", StringComparison.Ordinal);
        if (at < 0) at = tensor.IndexOf("blk.", StringComparison.Ordinal) is int b and >= 0 ? b - 3 : -1;
        if (at >= 0)
        {
            int start = at + 7, end = start;
            while (end < tensor.Length && char.IsAsciiDigit(tensor[end])) end++;
            if (end > start && int.TryParse(tensor.AsSpan(start, end - start), out int layer)) return Math.Min(layer, layers);
        }
        return index + 1 >= count ? layers : 0;
    }

    private sealed class Relay<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
