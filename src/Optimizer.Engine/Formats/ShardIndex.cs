using System.Text.Json;

namespace Optimizer.Engine.Formats;

/// <summary>
/// The <c>model.safetensors.index.json</c> of a sharded checkpoint: its <c>weight_map</c> from tensor name to the
/// shard file (relative to the folder) that holds it.
/// </summary>
public sealed class ShardIndex
{
    /// <summary>The file name of a sharded checkpoint's index.</summary>
    public const string FileName = "model.safetensors.index.json";

    private ShardIndex(IReadOnlyDictionary<string, string> weightMap, IReadOnlyList<string> shards)
    {
        WeightMap = weightMap;
        Shards = shards;
    }

    /// <summary>Tensor name → shard file name.</summary>
    public IReadOnlyDictionary<string, string> WeightMap { get; }

    /// <summary>The distinct shard file names, sorted (ordinal).</summary>
    public IReadOnlyList<string> Shards { get; }

    /// <summary>Reads and checks the index at <paramref name="path"/>; shard names must stay inside its folder.</summary>
    public static ShardIndex Load(string path)
    {
        using var document = JsonFile.Parse(path, ErrorCodes.ShardIndexInvalid, "The shard index");
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            throw new OptimizerException(ErrorCodes.ShardIndexInvalid, "The shard index has no \"weight_map\" object.", path);
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in map.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new OptimizerException(ErrorCodes.ShardIndexInvalid, $"\"weight_map\" entry '{entry.Name}' must name a file (a string).", path);
            string shard = entry.Value.GetString()!;
            if (!IsPlainFileName(shard))
                throw new OptimizerException(ErrorCodes.ShardIndexInvalid,
                    $"\"weight_map\" entry '{entry.Name}' names \"{shard}\", which is not a plain .safetensors file name inside the model folder.", path);
            if (!weightMap.TryAdd(entry.Name, shard))
                throw new OptimizerException(ErrorCodes.DuplicateTensor,
                    $"\"weight_map\" lists tensor '{entry.Name}' twice (in {weightMap[entry.Name]} and {shard}).", path);
        }
        if (weightMap.Count == 0)
            throw new OptimizerException(ErrorCodes.ShardIndexInvalid, "The shard index's \"weight_map\" is empty.", path);
        var shards = weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return new ShardIndex(weightMap, shards);
    }

    private static bool IsPlainFileName(string name) =>
        name.Length > 0
        && name.EndsWith(".safetensors", StringComparison.Ordinal)
        && name.IndexOfAny(new[] { '/', '\\', '\0', ':' }) < 0
        && name != "." && name != "..";
}
