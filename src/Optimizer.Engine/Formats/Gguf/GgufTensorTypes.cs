using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// Block geometry of every ggml tensor type a GGUF file may hold (ggml.c <c>type_traits</c>), so the reader can size
/// and validate tensors of types the engine itself does not compute with. <see cref="GgmlType"/> values outside that
/// enum's named members are carried as their numeric id.
/// </summary>
public static class GgufTensorTypes
{
    private static readonly Dictionary<uint, (string Name, int BlockSize, int BlockBytes)> Table = new()
    {
        [0] = ("F32", 1, 4),
        [1] = ("F16", 1, 2),
        [2] = ("Q4_0", 32, 18),
        [3] = ("Q4_1", 32, 20),
        [6] = ("Q5_0", 32, 22),
        [7] = ("Q5_1", 32, 24),
        [8] = ("Q8_0", 32, 34),
        [9] = ("Q8_1", 32, 36),
        [10] = ("Q2_K", 256, 84),
        [11] = ("Q3_K", 256, 110),
        [12] = ("Q4_K", 256, 144),
        [13] = ("Q5_K", 256, 176),
        [14] = ("Q6_K", 256, 210),
        [15] = ("Q8_K", 256, 292),
        [16] = ("IQ2_XXS", 256, 66),
        [17] = ("IQ2_XS", 256, 74),
        [18] = ("IQ3_XXS", 256, 98),
        [19] = ("IQ1_S", 256, 50),
        [20] = ("IQ4_NL", 32, 18),
        [21] = ("IQ3_S", 256, 110),
        [22] = ("IQ2_S", 256, 82),
        [23] = ("IQ4_XS", 256, 136),
        [24] = ("I8", 1, 1),
        [25] = ("I16", 1, 2),
        [26] = ("I32", 1, 4),
        [27] = ("I64", 1, 8),
        [28] = ("F64", 1, 8),
        [29] = ("IQ1_M", 256, 56),
        [30] = ("BF16", 1, 2),
        [34] = ("TQ1_0", 256, 54),
        [35] = ("TQ2_0", 256, 66),
        [39] = ("MXFP4", 32, 17),
    };

    /// <summary>Whether <paramref name="type"/> is a ggml type id this table knows.</summary>
    public static bool IsKnown(GgmlType type) => Table.ContainsKey((uint)type);

    /// <summary>The ggml name (<c>Q4_1</c>, <c>BF16</c>, …), or <c>type N</c> for an unknown id.</summary>
    public static string Name(GgmlType type) =>
        Table.TryGetValue((uint)type, out var row) ? row.Name : "type " + ((uint)type).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Elements per block.</summary>
    public static int BlockSize(GgmlType type) => Row(type).BlockSize;

    /// <summary>Bytes per block.</summary>
    public static int BlockBytes(GgmlType type) => Row(type).BlockBytes;

    /// <summary>
    /// Bytes a tensor of <paramref name="dims"/> (ggml order, dim 0 contiguous) takes, or null when dim 0 is not a
    /// whole number of blocks or the size overflows.
    /// </summary>
    public static long? ByteCount(GgmlType type, ReadOnlySpan<long> dims)
    {
        var row = Row(type);
        if (dims.Length == 0) return row.BlockBytes;
        if (dims[0] % row.BlockSize != 0) return null;
        try
        {
            long bytes = checked(dims[0] / row.BlockSize * row.BlockBytes);
            for (int i = 1; i < dims.Length; i++) bytes = checked(bytes * dims[i]);
            return bytes;
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    private static (string Name, int BlockSize, int BlockBytes) Row(GgmlType type) =>
        Table.TryGetValue((uint)type, out var row) ? row
            : throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown ggml type.");
}
