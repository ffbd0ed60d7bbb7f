using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// The int8 per-channel / int4 group-wise weight schemes of the safetensors export (docs/safetensors-int.md) as a
/// weight round trip: the 2-D linear weights of every layer (q, k, v, o, gate, up, down) are quantized, the token
/// embedding and output head only when <see cref="QuantizeEmbeddings"/> is set, norms and biases never. Which tensors
/// are selected comes from the model's tensor table (<see cref="LlamaTensorNames"/>), not from parsing names; the export
/// uses <see cref="Quantizes"/> so that evaluation and the written file agree tensor for tensor.
/// </summary>
public sealed class IntRoundTrip : IWeightRoundTrip
{
    /// <summary>The int4 group sizes offered.</summary>
    public static readonly int[] SupportedGroupSizes = { 32, 128 };

    private readonly Dictionary<string, long[]> _selected;

    /// <summary>
    /// A round trip for <paramref name="config"/>'s tensors: <paramref name="bits"/> 8 (per output channel) or 4
    /// (groups of <paramref name="groupSize"/>, 32 or 128, along the input dimension; ignored for 8 bits), scales stored
    /// as <paramref name="scaleType"/> (F16 or F32). Invalid settings throw <see cref="OptimizerException"/>
    /// <see cref="ErrorCodes.HfExportOptionInvalid"/>.
    /// </summary>
    public IntRoundTrip(ModelConfig config, int bits, int groupSize = 128, bool quantizeEmbeddings = false, DType scaleType = DType.F16)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (bits is not (8 or 4))
            throw new OptimizerException(ErrorCodes.HfExportOptionInvalid, $"Integer weights have 8 or 4 bits, not {bits}.");
        if (bits == 4 && Array.IndexOf(SupportedGroupSizes, groupSize) < 0)
            throw new OptimizerException(ErrorCodes.HfExportOptionInvalid, $"The int4 group size must be 32 or 128, not {groupSize}.");
        if (scaleType is not (DType.F16 or DType.F32))
            throw new OptimizerException(ErrorCodes.HfExportOptionInvalid,
                $"Scales are stored as F16 or F32, not {DTypes.SafetensorsName(scaleType)}.");
        Bits = bits;
        GroupSize = bits == 4 ? groupSize : 0;
        QuantizeEmbeddings = quantizeEmbeddings;
        ScaleType = scaleType;
        _selected = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var (role, _, name, shape) in LlamaTensorNames.Expected(config))
        {
            if (IsSelected(role, quantizeEmbeddings)) _selected.Add(name, shape);
        }
        // phi3's safetensors export writes qkv_proj and gate_up_proj: per-row codes of the fused rows are its parts' codes.
        if (config.HasFusedProjections)
        {
            foreach (var (name, shape, _) in Phi3Names.Fused(config)) _selected.Add(name, shape);
        }
        Name = (bits == 8 ? "int8" : $"int4-g{groupSize}") + (scaleType == DType.F32 ? "-f32scale" : "");
    }

    /// <summary><c>int8</c>, <c>int4-g128</c>, <c>int4-g32</c> (with <c>-f32scale</c> appended for F32 scales).</summary>
    public string Name { get; }

    /// <summary>8 or 4.</summary>
    public int Bits { get; }

    /// <summary>The int4 group size (32 or 128); 0 for int8 (one scale per row).</summary>
    public int GroupSize { get; }

    /// <summary>Whether the token embedding and the output head are quantized too.</summary>
    public bool QuantizeEmbeddings { get; }

    /// <summary>The stored type of the scales: F16 or F32.</summary>
    public DType ScaleType { get; }

    /// <summary>Whether the scheme quantizes the tensor named <paramref name="tensorName"/> (false: it stays float).</summary>
    public bool Quantizes(string tensorName) => _selected.ContainsKey(tensorName);

    /// <summary>Whether a tensor of <paramref name="role"/> is quantized under these settings.</summary>
    public static bool IsSelected(TensorRole role, bool quantizeEmbeddings) => role switch
    {
        TensorRole.Q or TensorRole.K or TensorRole.V or TensorRole.O or TensorRole.Gate or TensorRole.Up or TensorRole.Down => true,
        TensorRole.TokenEmbedding or TensorRole.OutputHead => quantizeEmbeddings,
        _ => false,
    };

    /// <summary>Number of scales a quantized [<paramref name="rows"/>, <paramref name="cols"/>] tensor has.</summary>
    public long ScaleCount(long rows, long cols) => Bits == 8 ? rows : rows * Int4Grouped.GroupCount(cols, GroupSize);

    /// <summary>
    /// Quantizes <paramref name="values"/> and writes the code bytes (int8: one signed byte per value; int4: packed
    /// nibbles) into <paramref name="codes"/> and the scales into <paramref name="scales"/>; errors name the tensor.
    /// </summary>
    public void Quantize(string tensorName, ReadOnlySpan<float> values, long rows, long cols, Span<byte> codes, Span<float> scales)
    {
        try
        {
            if (Bits == 8) Int8PerChannel.Quantize(values, rows, cols, ScaleType, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(codes), scales);
            else Int4Grouped.Quantize(values, rows, cols, GroupSize, ScaleType, codes, scales);
        }
        catch (OptimizerException ex)
        {
            throw new OptimizerException(ex.Code, $"Tensor '{tensorName}': {ex.Message}", ex.File, ex.Line, ex.Column, ex);
        }
    }

    /// <summary>Computes only the scales of <paramref name="values"/> (the same values <see cref="Quantize"/> gives).</summary>
    public void ComputeScales(string tensorName, ReadOnlySpan<float> values, long rows, long cols, Span<float> scales)
    {
        try
        {
            if (Bits == 8) Int8PerChannel.ComputeScales(values, rows, cols, ScaleType, scales);
            else Int4Grouped.ComputeScales(values, rows, cols, GroupSize, ScaleType, scales);
        }
        catch (OptimizerException ex)
        {
            throw new OptimizerException(ex.Code, $"Tensor '{tensorName}': {ex.Message}", ex.File, ex.Line, ex.Column, ex);
        }
    }

    /// <summary>Dequantizes code bytes and scales as written by <see cref="Quantize"/>.</summary>
    public void Dequantize(ReadOnlySpan<byte> codes, ReadOnlySpan<float> scales, long rows, long cols, Span<float> values)
    {
        if (Bits == 8) Int8PerChannel.Dequantize(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(codes), scales, rows, cols, values);
        else Int4Grouped.Dequantize(codes, scales, rows, cols, GroupSize, values);
    }

    /// <summary>Code bytes of a quantized [<paramref name="rows"/>, <paramref name="cols"/>] tensor.</summary>
    public long CodeBytes(long rows, long cols) => Bits == 8 ? rows * cols : rows * cols / 2;

    /// <inheritdoc/>
    public bool TryRoundTrip(string tensorName, ReadOnlySpan<float> values, long rows, long cols, Span<float> restored)
    {
        ArgumentNullException.ThrowIfNull(tensorName);
        if (!_selected.TryGetValue(tensorName, out var shape)) return false;
        if (shape[0] != rows || shape[1] != cols)
            throw new ArgumentException($"Tensor '{tensorName}' is [{shape[0]}, {shape[1]}] for this model, not [{rows}, {cols}].", nameof(rows));
        Int8PerChannel.CheckShape(values.Length, rows, cols);
        Int8PerChannel.CheckLength(restored.Length, rows * cols, "restored");
        var codes = new byte[CodeBytes(rows, cols)];
        var scales = new float[ScaleCount(rows, cols)];
        Quantize(tensorName, values, rows, cols, codes, scales);
        Dequantize(codes, scales, rows, cols, restored);
        return true;
    }
}
