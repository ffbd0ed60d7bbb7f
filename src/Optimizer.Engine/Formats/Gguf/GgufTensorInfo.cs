using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// One tensor of a GGUF file: name, dimensions in ggml order (<see cref="Dimensions"/>[0] is the contiguous one, the
/// reverse of the PyTorch shape), ggml type, data offset relative to the tensor-data section, and size in bytes.
/// </summary>
public sealed record GgufTensorInfo(string Name, long[] Dimensions, GgmlType Type, long Offset, long ByteCount)
{
    /// <summary>The shape outermost first (PyTorch order): <see cref="Dimensions"/> reversed.</summary>
    public long[] Shape => Dimensions.Reverse().ToArray();

    /// <summary>Number of elements.</summary>
    public long ElementCount => Dimensions.Aggregate(1L, (n, d) => checked(n * d));

    /// <summary>The ggml type name.</summary>
    public string TypeName => GgufTensorTypes.Name(Type);
}
