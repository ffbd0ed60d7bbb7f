using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Transforms;

/// <summary>A tensor source that serves some tensors from managed F32 arrays and every other one from a base source (not owned).</summary>
internal sealed class PatchedTensorSource(ITensorSource inner) : ITensorSource
{
    private readonly Dictionary<string, (TensorInfo Info, byte[] Bytes)> _patches = new(StringComparer.Ordinal);

    /// <summary>Replaces <paramref name="name"/> with <paramref name="values"/> (F32, same shape).</summary>
    public void Patch(string name, float[] values)
    {
        var info = inner.Find(name) ?? throw new ArgumentException($"No tensor {name}.");
        var bytes = new byte[values.Length * sizeof(float)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        _patches[name] = (info with { DType = DType.F32, Offset = 0, Length = bytes.Length }, bytes);
    }

    public IReadOnlyList<TensorInfo> Tensors => inner.Tensors.Select(t => _patches.TryGetValue(t.Name, out var p) ? p.Info : t).ToArray();

    public TensorInfo? Find(string name) => _patches.TryGetValue(name, out var p) ? p.Info : inner.Find(name);

    public void ReadBytes(TensorInfo tensor, ReadOnlySpanAction<byte, long> onChunk, int maxChunk = 1 << 30)
    {
        if (!_patches.TryGetValue(tensor.Name, out var p))
        {
            inner.ReadBytes(tensor, onChunk, maxChunk);
            return;
        }
        int chunk = Math.Max(4, maxChunk / 4 * 4);
        for (int offset = 0; offset < p.Bytes.Length; offset += chunk)
            onChunk(p.Bytes.AsSpan(offset, Math.Min(chunk, p.Bytes.Length - offset)), offset);
    }

    public void Dispose() => _patches.Clear();
}
