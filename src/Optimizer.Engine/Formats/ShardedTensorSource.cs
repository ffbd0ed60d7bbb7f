namespace Optimizer.Engine.Formats;

/// <summary>
/// The tensors of several safetensors shards seen as one source, checked against the shard index: every tensor the
/// index names is in the shard it names, no tensor is in two shards, and no shard holds a tensor the index omits.
/// </summary>
internal sealed class ShardedTensorSource : ITensorSource
{
    private readonly Dictionary<string, SafetensorsFile> _shards;
    private readonly Dictionary<string, TensorInfo> _byName;

    private ShardedTensorSource(Dictionary<string, SafetensorsFile> shards, List<TensorInfo> tensors)
    {
        _shards = shards;
        Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>Opens every shard of <paramref name="index"/> (read from <paramref name="indexPath"/>) in <paramref name="folder"/>.</summary>
    public static ShardedTensorSource Open(string folder, string indexPath, ShardIndex index)
    {
        var shards = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (string shard in index.Shards)
            {
                string shardPath = Path.Combine(folder, shard);
                if (!File.Exists(shardPath))
                    throw new OptimizerException(ErrorCodes.ShardMissing,
                        $"The shard index names {shard}, which does not exist in {folder}.", indexPath);
                shards.Add(shard, SafetensorsFile.Open(shardPath, shard));
            }
            var tensors = new List<TensorInfo>();
            var owner = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (shard, file) in shards.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                foreach (var tensor in file.Tensors)
                {
                    if (owner.TryGetValue(tensor.Name, out string? first))
                        throw new OptimizerException(ErrorCodes.DuplicateTensor, $"Tensor '{tensor.Name}' is in two shards: {first} and {shard}.", file.Path);
                    owner.Add(tensor.Name, shard);
                    if (!index.WeightMap.TryGetValue(tensor.Name, out string? listed))
                        throw new OptimizerException(ErrorCodes.ShardIndexInvalid,
                            $"Shard {shard} holds tensor '{tensor.Name}', which the shard index does not list.", indexPath);
                    if (listed != shard)
                        throw new OptimizerException(ErrorCodes.ShardIndexInvalid,
                            $"The shard index puts tensor '{tensor.Name}' in {listed}, but it is in {shard}.", indexPath);
                    tensors.Add(tensor);
                }
            }
            foreach (var (name, shard) in index.WeightMap)
            {
                if (!owner.ContainsKey(name))
                    throw new OptimizerException(ErrorCodes.TensorMissing,
                        $"The shard index puts tensor '{name}' in {shard}, but that shard does not contain it.", Path.Combine(folder, shard));
            }
            tensors.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            return new ShardedTensorSource(shards, tensors);
        }
        catch
        {
            foreach (var file in shards.Values) file.Dispose();
            throw;
        }
    }

    public TensorInfo? Find(string name) => _byName.GetValueOrDefault(name);

    public void ReadBytes(TensorInfo tensor, ReadOnlySpanAction<byte, long> onChunk, int maxChunk = 1 << 30)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_shards.TryGetValue(tensor.File, out var file))
            throw new ArgumentException($"Tensor '{tensor.Name}' names file {tensor.File}, which is not a shard of this checkpoint.", nameof(tensor));
        file.ReadBytes(tensor, onChunk, maxChunk);
    }

    public void Dispose()
    {
        foreach (var file in _shards.Values) file.Dispose();
    }
}
