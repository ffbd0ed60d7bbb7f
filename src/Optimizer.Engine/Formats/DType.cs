namespace Optimizer.Engine.Formats;

/// <summary>Element types of stored tensors that the engine reads or writes.</summary>
public enum DType
{
    F32,
    F16,
    BF16,
    F64,
    I8,
    U8,
    I16,
    I32,
    I64,
}

/// <summary>Names and sizes of <see cref="DType"/> values, as a table.</summary>
public static class DTypes
{
    private static readonly (DType Type, string Name, int Size)[] Table =
    {
        (DType.F32, "F32", 4),
        (DType.F16, "F16", 2),
        (DType.BF16, "BF16", 2),
        (DType.F64, "F64", 8),
        (DType.I8, "I8", 1),
        (DType.U8, "U8", 1),
        (DType.I16, "I16", 2),
        (DType.I32, "I32", 4),
        (DType.I64, "I64", 8),
    };

    /// <summary>Size of one element in bytes.</summary>
    public static int SizeOf(DType type) => Table[(int)type].Size;

    /// <summary>The safetensors name, e.g. <c>BF16</c>.</summary>
    public static string SafetensorsName(DType type) => Table[(int)type].Name;

    /// <summary>Parses a safetensors dtype name; false for names the engine does not support.</summary>
    public static bool TryParseSafetensors(string name, out DType type)
    {
        foreach (var row in Table)
        {
            if (row.Name == name) { type = row.Type; return true; }
        }
        type = default;
        return false;
    }

    /// <summary>True for the floating-point types that hold model weights (F32, F16, BF16).</summary>
    public static bool IsWeightFloat(DType type) => type is DType.F32 or DType.F16 or DType.BF16;
}
