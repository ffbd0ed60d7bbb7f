using System.Buffers.Binary;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// The check llama.cpp applies to quantized data (<c>ggml_validate_row_data</c>): no NaN or infinity among float values
/// or block scales. llama.cpp's quantizer refuses a tensor that fails it ("quantized data validation failed"); a writer
/// can use this to name the tensor and block instead of writing a file llama.cpp will not accept.
/// </summary>
public static class GgmlValidation
{
    /// <summary>
    /// The index of the first value (F32/F16/BF16) or block (quantized types) of <paramref name="data"/> that holds a NaN
    /// or an infinity, or −1 when all are finite. <paramref name="data"/> must be whole blocks.
    /// </summary>
    public static long FirstNonFinite(GgmlType type, ReadOnlySpan<byte> data)
    {
        int blockBytes = GgmlTypes.BlockBytes(type);
        if (data.Length % blockBytes != 0)
            throw new OptimizerException(ErrorCodes.QuantizationShapeInvalid,
                $"{data.Length} bytes are not whole {GgmlTypes.Name(type)} blocks of {blockBytes} bytes.");
        long blocks = data.Length / blockBytes;
        for (long b = 0; b < blocks; b++)
        {
            ReadOnlySpan<byte> block = data.Slice((int)(b * blockBytes), blockBytes);
            bool finite = type switch
            {
                GgmlType.F32 => float.IsFinite(BinaryPrimitives.ReadSingleLittleEndian(block)),
                GgmlType.F16 or GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q5_0 => Fp16Finite(block),
                GgmlType.BF16 => (BinaryPrimitives.ReadUInt16LittleEndian(block) & 0x7F80) != 0x7F80,
                GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K => Fp16Finite(block) && Fp16Finite(block[2..]),
                GgmlType.Q2_K => Fp16Finite(block[80..]) && Fp16Finite(block[82..]),
                GgmlType.Q3_K => Fp16Finite(block[108..]),
                GgmlType.Q6_K => Fp16Finite(block[208..]),
                _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown ggml type."),
            };
            if (!finite)
                return b;
        }
        return -1;
    }

    private static bool Fp16Finite(ReadOnlySpan<byte> bits) => (BinaryPrimitives.ReadUInt16LittleEndian(bits) & 0x7C00) != 0x7C00;
}
