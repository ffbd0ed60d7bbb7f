using Optimizer.Engine.Formats;

namespace Optimizer.Fixtures;

/// <summary>
/// One tensor of a synthetic model: its Hugging Face name, storage type, shape and values. The values are exactly
/// what the file stores (already rounded to <see cref="DType"/>), widened to float.
/// </summary>
public sealed class SyntheticTensor
{
    internal SyntheticTensor(string name, DType dtype, long[] shape, float[] values)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        Values = values;
    }

    /// <summary>The Hugging Face name, e.g. <c>model.layers.0.mlp.down_proj.weight</c>.</summary>
    public string Name { get; }

    /// <summary>The storage type.</summary>
    public DType DType { get; }

    /// <summary>The shape (PyTorch order, [out, in] for linears).</summary>
    public long[] Shape { get; }

    /// <summary>Row-major values (read-only by convention).</summary>
    public float[] Values { get; }

    /// <summary>The little-endian bytes the safetensors file stores.</summary>
    public byte[] Encode() => WeightPrecision.Encode(Values, DType);

    /// <summary>A safetensors writer entry for this tensor.</summary>
    public SafetensorsEntry ToEntry() => SafetensorsEntry.FromBytes(Name, DType, Encode(), Shape);
}
