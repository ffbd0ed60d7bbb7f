namespace Optimizer.Engine.Formats;

/// <summary>
/// The safetensors weights of a Hugging Face model folder: <c>model.safetensors</c>, or the shards listed by
/// <c>model.safetensors.index.json</c> (the single file wins when both exist, as in <c>transformers</c>).
/// <see cref="TensorInfo.File"/> is relative to the folder.
/// </summary>
public static class SafetensorsCheckpoint
{
    /// <summary>The file name of a single-file checkpoint.</summary>
    public const string SingleFileName = "model.safetensors";

    /// <summary>Whether <paramref name="folder"/> holds a single-file or sharded safetensors checkpoint.</summary>
    public static bool Exists(string folder) =>
        File.Exists(Path.Combine(folder, SingleFileName)) || File.Exists(Path.Combine(folder, ShardIndex.FileName));

    /// <summary>Opens and validates the checkpoint in <paramref name="folder"/>.</summary>
    public static ITensorSource Open(string folder)
    {
        if (!Directory.Exists(folder))
            throw new OptimizerException(ErrorCodes.ModelNotFound, "The model folder does not exist.", folder);
        string single = Path.Combine(folder, SingleFileName);
        if (File.Exists(single)) return SafetensorsFile.Open(single, SingleFileName);
        string indexPath = Path.Combine(folder, ShardIndex.FileName);
        if (File.Exists(indexPath)) return ShardedTensorSource.Open(folder, indexPath, ShardIndex.Load(indexPath));
        throw new OptimizerException(ErrorCodes.NoWeights,
            $"No safetensors weights: neither {SingleFileName} nor {ShardIndex.FileName} is in the folder.", folder);
    }
}
