using System.Runtime.InteropServices;

namespace Optimizer.Engine.Formats.HfExport;

/// <summary>
/// The inverse of <see cref="FusedTensorSource"/> for the safetensors export of a phi3 model (docs/model-families.md,
/// "Phi-3"): the weights (Llama names: q/k/v, gate/up, possibly transformed) seen with phi3's stored names, each
/// <c>qkv_proj</c> the rows of q, k, v and each <c>gate_up_proj</c> the rows of gate, up, built as F32 when read (one
/// at a time); every other tensor passes through. Per-row integer quantization of the fused tensor equals that of its
/// parts, so evaluation of the parts and the written file agree.
/// </summary>
internal sealed class RefusedProjections : ITensorSource
{
    private readonly ITensorSource _weights;
    private readonly Dictionary<string, TensorInfo[]> _parts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorInfo> _byName;

    public RefusedProjections(ITensorSource weights, ModelConfig config)
    {
        _weights = weights;
        var hidden = new HashSet<string>(StringComparer.Ordinal);
        var fused = new List<TensorInfo>();
        foreach (var (name, shape, parts) in Phi3Names.Fused(config))
        {
            int layer = int.Parse(name.Split('.')[2], System.Globalization.CultureInfo.InvariantCulture);
            var infos = parts.Select(p => weights.Find(LlamaTensorNames.Name(p.Role, layer))
                ?? throw new OptimizerException(ErrorCodes.TensorMissing, $"The weights to export have no tensor '{LlamaTensorNames.Name(p.Role, layer)}', which the config requires.")).ToArray();
            foreach (var info in infos) hidden.Add(info.Name);
            _parts.Add(name, infos);
            fused.Add(new TensorInfo(name, DType.F32, shape, infos[0].File, 0, checked(shape[0] * shape[1] * sizeof(float))));
        }
        var tensors = weights.Tensors.Where(t => !hidden.Contains(t.Name)).Concat(fused).ToList();
        tensors.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public IReadOnlyList<TensorInfo> Tensors { get; }

    public TensorInfo? Find(string name) => _byName.GetValueOrDefault(name);

    public void ReadBytes(TensorInfo tensor, ReadOnlySpanAction<byte, long> onChunk, int maxChunk = 1 << 30)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(onChunk);
        if (!_parts.TryGetValue(tensor.Name, out var parts))
        {
            _weights.ReadBytes(tensor, onChunk, maxChunk);
            return;
        }
        var values = parts.SelectMany(p => TensorData.ReadFloat32(_weights, p)).ToArray();
        var bytes = MemoryMarshal.AsBytes(values.AsSpan());
        int chunk = maxChunk >= sizeof(float) ? maxChunk / sizeof(float) * sizeof(float) : maxChunk;
        for (int offset = 0; offset < bytes.Length; offset += chunk)
            onChunk(bytes.Slice(offset, Math.Min(chunk, bytes.Length - offset)), offset);
    }

    /// <summary>Disposes nothing: the weights belong to the caller.</summary>
    public void Dispose()
    {
    }

    /// <summary>
    /// The tensors a phi3 folder stores, in <see cref="LlamaTensorNames.Expected"/> order with q/k/v replaced by
    /// <c>qkv_proj</c> (at q's place) and gate/up by <c>gate_up_proj</c> (at gate's place); the table itself otherwise.
    /// </summary>
    public static IEnumerable<(TensorRole Role, int Layer, string Name, long[] Shape)> StoredTable(ModelConfig config)
    {
        foreach (var (role, layer, name, shape) in LlamaTensorNames.Expected(config))
        {
            if (!config.HasFusedProjections) yield return (role, layer, name, shape);
            else if (role is TensorRole.K or TensorRole.V or TensorRole.Up) continue;
            else if (Phi3Names.FusedName(role, layer) is { } fused)
                yield return (role, layer, fused, Phi3Names.Fused(config).First(f => f.Name == fused).Shape);
            else yield return (role, layer, name, shape);
        }
    }
}
