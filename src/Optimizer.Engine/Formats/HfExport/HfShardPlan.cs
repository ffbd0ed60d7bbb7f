using System.Text.Encodings.Web;
using System.Text.Json;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Formats.HfExport;

/// <summary>One model tensor to export: where it comes from, whether it is quantized, and the bytes it will take.</summary>
internal sealed record PlannedTensor(string Name, long[] Shape, TensorInfo Source, bool Quantized, long Bytes, IReadOnlyList<string> StoredNames);

/// <summary>The tensors of one safetensors file.</summary>
internal sealed record PlannedShard(string FileName, IReadOnlyList<PlannedTensor> Tensors);

/// <summary>
/// Which tensors the export writes (the model's tensor table, checked against the weights before anything is
/// written) and how they are cut into files: in table order, a new shard starts when the next tensor (codes and scales
/// together) would take the current one over the size limit, as Hugging Face's sharding does. One shard is
/// <c>model.safetensors</c>; several are <c>model-0000i-of-0000n.safetensors</c> with an index.
/// </summary>
internal sealed class HfShardPlan
{
    private HfShardPlan(IReadOnlyList<PlannedTensor> tensors, IReadOnlyList<PlannedShard> shards)
    {
        Tensors = tensors;
        Shards = shards;
    }

    /// <summary>Every model tensor in table order.</summary>
    public IReadOnlyList<PlannedTensor> Tensors { get; }

    /// <summary>The files, in order.</summary>
    public IReadOnlyList<PlannedShard> Shards { get; }

    /// <summary>Plans the export of <paramref name="weights"/> for <paramref name="config"/>.</summary>
    public static HfShardPlan Create(ModelConfig config, ITensorSource weights, IntRoundTrip? roundTrip, DType floatType, long maxShardBytes)
    {
        var tensors = new List<PlannedTensor>();
        // phi3: qkv_proj and gate_up_proj as its checkpoints store them (RefusedProjections).
        foreach (var (_, _, name, shape) in RefusedProjections.StoredTable(config))
        {
            var source = weights.Find(name)
                ?? throw new OptimizerException(ErrorCodes.TensorMissing, $"The weights to export have no tensor '{name}', which the config requires.");
            if (!source.Shape.AsSpan().SequenceEqual(shape))
                throw new OptimizerException(ErrorCodes.TensorShapeMismatch,
                    $"Tensor '{name}' to export has shape {source.ShapeText} but the config implies [{string.Join(", ", shape)}].");
            if (!DTypes.IsWeightFloat(source.DType))
                throw new OptimizerException(ErrorCodes.UnsupportedDType,
                    $"Tensor '{name}' to export is {DTypes.SafetensorsName(source.DType)}; weights must be F32, F16 or BF16.");
            long count = source.ElementCount;
            if (roundTrip is not null && roundTrip.Quantizes(name))
            {
                if (roundTrip.Bits == 4 && shape[1] % 2 != 0)
                    throw new OptimizerException(ErrorCodes.IntQuantShapeUnsupported,
                        $"Tensor '{name}' has {shape[1]} input columns; int4 packs two per byte and needs an even number.");
                long bytes = checked(roundTrip.CodeBytes(shape[0], shape[1]) + roundTrip.ScaleCount(shape[0], shape[1]) * DTypes.SizeOf(roundTrip.ScaleType));
                tensors.Add(new PlannedTensor(name, shape, source, true, bytes, new[] { name, ScaleName(name) }));
            }
            else
            {
                tensors.Add(new PlannedTensor(name, shape, source, false, checked(count * DTypes.SizeOf(floatType)), new[] { name }));
            }
        }

        var groups = new List<List<PlannedTensor>>();
        long current = 0;
        foreach (var tensor in tensors)
        {
            if (groups.Count == 0 || (groups[^1].Count > 0 && current + tensor.Bytes > maxShardBytes))
            {
                groups.Add(new List<PlannedTensor>());
                current = 0;
            }
            groups[^1].Add(tensor);
            current += tensor.Bytes;
        }
        var shards = groups.Select((g, i) => new PlannedShard(
            groups.Count == 1 ? SafetensorsCheckpoint.SingleFileName : $"model-{i + 1:D5}-of-{groups.Count:D5}.safetensors", g)).ToList();
        return new HfShardPlan(tensors, shards);
    }

    /// <summary>The name of the scale tensor that goes with quantized tensor <paramref name="name"/>.</summary>
    public static string ScaleName(string name) => name + "_scale";

    /// <summary>
    /// <c>model.safetensors.index.json</c>: <c>{"metadata": {"total_size": bytes of tensor data}, "weight_map": {name:
    /// file}}</c> with the names sorted (ordinal), indented, ending in a newline.
    /// </summary>
    public string IndexJson()
    {
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var shard in Shards)
        {
            foreach (var tensor in shard.Tensors)
            {
                foreach (string stored in tensor.StoredNames) map.Add(stored, shard.FileName);
            }
        }
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteNumber("total_size", Tensors.Sum(t => t.Bytes));
            json.WriteEndObject();
            json.WriteStartObject("weight_map");
            foreach (var (name, file) in map) json.WriteString(name, file);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
