namespace Optimizer.Engine.Formats;

/// <summary>
/// One stored tensor: its name, element type, shape (outermost first, as in PyTorch), and where its bytes are:
/// the file (relative to the model folder) and the byte range inside that file.
/// </summary>
public sealed record TensorInfo(string Name, DType DType, long[] Shape, string File, long Offset, long Length)
{
    /// <summary>Number of elements (product of the shape; 1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n = checked(n * d);
            return n;
        }
    }

    /// <summary>Shape as text, e.g. <c>[256, 1024]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
