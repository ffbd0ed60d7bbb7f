namespace Optimizer.Engine.Quantization;

/// <summary>
/// ggml tensor types the product reads or writes, with their GGUF type ids (ggml.h <c>enum ggml_type</c>).
/// </summary>
public enum GgmlType : uint
{
    /// <summary>32-bit IEEE float.</summary>
    F32 = 0,

    /// <summary>16-bit IEEE float.</summary>
    F16 = 1,

    /// <summary>Blocks of 32: fp16 scale + 16 bytes of 4-bit codes (4.5 bits per weight).</summary>
    Q4_0 = 2,

    /// <summary>Blocks of 32: fp16 scale, fp16 min + 16 bytes of 4-bit codes (5 bits per weight).</summary>
    Q4_1 = 3,

    /// <summary>Blocks of 32: fp16 scale, 4 bytes of fifth bits, 16 bytes of 4-bit codes (5.5 bits per weight).</summary>
    Q5_0 = 6,

    /// <summary>Blocks of 32: fp16 scale, fp16 min, 4 bytes of fifth bits, 16 bytes of 4-bit codes (6 bits per weight).</summary>
    Q5_1 = 7,

    /// <summary>Blocks of 32: fp16 scale + 32 signed bytes (8.5 bits per weight).</summary>
    Q8_0 = 8,

    /// <summary>Super-blocks of 256: 16 bytes of 4-bit scales/mins, 64 bytes of 2-bit codes, fp16 d, fp16 dmin (2.625 bpw).</summary>
    Q2_K = 10,

    /// <summary>Super-blocks of 256: 32 bytes of high bits, 64 bytes of 2-bit codes, 12 bytes of 6-bit scales, fp16 d (3.4375 bpw).</summary>
    Q3_K = 11,

    /// <summary>Super-blocks of 256: fp16 d, fp16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of 4-bit codes (4.5 bpw).</summary>
    Q4_K = 12,

    /// <summary>Super-blocks of 256: fp16 d, fp16 dmin, 12 bytes of 6-bit scales/mins, 32 bytes of fifth bits, 128 bytes of 4-bit codes (5.5 bpw).</summary>
    Q5_K = 13,

    /// <summary>Super-blocks of 256: 128 bytes low nibbles, 64 bytes high 2 bits, 16 int8 scales, fp16 d (6.5625 bpw).</summary>
    Q6_K = 14,

    /// <summary>bfloat16.</summary>
    BF16 = 30,
}

/// <summary>Block geometry and names of <see cref="GgmlType"/> values.</summary>
public static class GgmlTypes
{
    /// <summary>Elements per block (1 for plain float types).</summary>
    public static int BlockSize(GgmlType type) => type switch
    {
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 => 1,
        GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0 => 32,
        GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K => 256,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown ggml type."),
    };

    /// <summary>Bytes per block.</summary>
    public static int BlockBytes(GgmlType type) => type switch
    {
        GgmlType.F32 => 4,
        GgmlType.F16 or GgmlType.BF16 => 2,
        GgmlType.Q4_0 => 18,
        GgmlType.Q4_1 => 20,
        GgmlType.Q5_0 => 22,
        GgmlType.Q5_1 => 24,
        GgmlType.Q8_0 => 34,
        GgmlType.Q2_K => 84,
        GgmlType.Q3_K => 110,
        GgmlType.Q4_K => 144,
        GgmlType.Q5_K => 176,
        GgmlType.Q6_K => 210,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown ggml type."),
    };

    /// <summary>Bytes that <paramref name="elements"/> values take (must be a multiple of the block size).</summary>
    public static long ByteCount(GgmlType type, long elements)
    {
        int block = BlockSize(type);
        if (elements % block != 0)
            throw new ArgumentException($"{Name(type)} stores blocks of {block} values; {elements} is not a multiple of it.", nameof(elements));
        return checked(elements / block * BlockBytes(type));
    }

    /// <summary>The name llama.cpp uses (<c>Q4_0</c>, <c>F16</c>, …).</summary>
    public static string Name(GgmlType type) => type switch
    {
        GgmlType.F32 => "F32",
        GgmlType.F16 => "F16",
        GgmlType.BF16 => "BF16",
        GgmlType.Q4_0 => "Q4_0",
        GgmlType.Q4_1 => "Q4_1",
        GgmlType.Q5_0 => "Q5_0",
        GgmlType.Q5_1 => "Q5_1",
        GgmlType.Q8_0 => "Q8_0",
        GgmlType.Q2_K => "Q2_K",
        GgmlType.Q3_K => "Q3_K",
        GgmlType.Q4_K => "Q4_K",
        GgmlType.Q5_K => "Q5_K",
        GgmlType.Q6_K => "Q6_K",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown ggml type."),
    };

    /// <summary>Parses a name as written by <see cref="Name"/> (case-insensitive).</summary>
    public static bool TryParse(string? text, out GgmlType type)
    {
        foreach (GgmlType t in Enum.GetValues<GgmlType>())
        {
            if (string.Equals(Name(t), text, StringComparison.OrdinalIgnoreCase))
            {
                type = t;
                return true;
            }
        }
        type = default;
        return false;
    }
}
