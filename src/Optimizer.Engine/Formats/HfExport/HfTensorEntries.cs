using System.Runtime.InteropServices;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Formats.HfExport;

/// <summary>
/// Turns planned tensors into safetensors entries whose data callbacks read the tensor from the weights only when the
/// writer reaches it (one tensor in memory at a time), encode it (float conversion, or int codes / scales), and report
/// the finished tensor with its relative RMSE. A quantized tensor has two entries; its scales are computed again when
/// they are written, which gives the same values as the quantization of the codes.
/// </summary>
internal sealed class HfTensorEntries
{
    private readonly ITensorSource _weights;
    private readonly DType _floatType;
    private readonly IntRoundTrip? _roundTrip;
    private readonly Action<HfExportTensor> _onWritten;
    private readonly CancellationToken _ct;

    public HfTensorEntries(ITensorSource weights, DType floatType, IntRoundTrip? roundTrip, Action<HfExportTensor> onWritten, CancellationToken ct)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("The safetensors export runs on little-endian hosts only.");
        _weights = weights;
        _floatType = floatType;
        _roundTrip = roundTrip;
        _onWritten = onWritten;
        _ct = ct;
    }

    /// <summary>The entries of <paramref name="tensor"/>: one float entry, or codes and scales.</summary>
    public IEnumerable<SafetensorsEntry> For(PlannedTensor tensor)
    {
        if (!tensor.Quantized)
        {
            yield return new SafetensorsEntry(tensor.Name, _floatType, tensor.Shape, stream => WriteFloat(tensor, stream));
            yield break;
        }
        var scheme = _roundTrip!;
        long rows = tensor.Shape[0], cols = tensor.Shape[1];
        long[] codeShape = scheme.Bits == 8 ? new[] { rows, cols } : new[] { rows, cols / 2 };
        long[] scaleShape = scheme.Bits == 8 ? new[] { rows } : new[] { rows, Int4Grouped.GroupCount(cols, scheme.GroupSize) };
        yield return new SafetensorsEntry(tensor.Name, scheme.Bits == 8 ? DType.I8 : DType.U8, codeShape, stream => WriteCodes(tensor, scheme, stream));
        yield return new SafetensorsEntry(HfShardPlan.ScaleName(tensor.Name), scheme.ScaleType, scaleShape, stream => WriteScales(tensor, scheme, stream));
    }

    private float[] Read(PlannedTensor tensor)
    {
        _ct.ThrowIfCancellationRequested();
        return TensorData.ReadFloat32(_weights, tensor.Source);
    }

    private void WriteFloat(PlannedTensor tensor, Stream stream)
    {
        float[] values = Read(tensor);
        if (_floatType == DType.F32)
        {
            stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
            _onWritten(new HfExportTensor(tensor.Name, "F32", tensor.Bytes, 0));
            return;
        }
        var bytes = new byte[checked(values.LongLength * 2)];
        if (_floatType == DType.F16) TensorData.FloatToHalf(values, bytes);
        else TensorData.FloatToBFloat16(values, bytes);
        stream.Write(bytes);
        var restored = new float[values.Length];
        if (_floatType == DType.F16) TensorData.HalfToFloat(bytes, restored);
        else TensorData.BFloat16ToFloat(bytes, restored);
        CheckRange(tensor.Name, values, restored);
        _onWritten(new HfExportTensor(tensor.Name, DTypes.SafetensorsName(_floatType), tensor.Bytes, QuantizationError.RelativeRmse(values, restored)));
    }

    private void WriteCodes(PlannedTensor tensor, IntRoundTrip scheme, Stream stream)
    {
        float[] values = Read(tensor);
        long rows = tensor.Shape[0], cols = tensor.Shape[1];
        var codes = new byte[scheme.CodeBytes(rows, cols)];
        var scales = new float[scheme.ScaleCount(rows, cols)];
        scheme.Quantize(tensor.Name, values, rows, cols, codes, scales);
        stream.Write(codes);
        var restored = new float[values.Length];
        scheme.Dequantize(codes, scales, rows, cols, restored);
        _onWritten(new HfExportTensor(tensor.Name, scheme.Name, tensor.Bytes, QuantizationError.RelativeRmse(values, restored)));
    }

    private void WriteScales(PlannedTensor tensor, IntRoundTrip scheme, Stream stream)
    {
        float[] values = Read(tensor);
        long rows = tensor.Shape[0], cols = tensor.Shape[1];
        var scales = new float[scheme.ScaleCount(rows, cols)];
        scheme.ComputeScales(tensor.Name, values, rows, cols, scales);
        if (scheme.ScaleType == DType.F32)
        {
            stream.Write(MemoryMarshal.AsBytes(scales.AsSpan()));
            return;
        }
        var bytes = new byte[scales.Length * 2];
        TensorData.FloatToHalf(scales, bytes); // exact: the scales were rounded to F16 already
        stream.Write(bytes);
    }

    /// <summary>A finite value that became infinite in the narrower float type would silently break the model.</summary>
    private void CheckRange(string name, ReadOnlySpan<float> values, ReadOnlySpan<float> restored)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (float.IsInfinity(restored[i]) && float.IsFinite(values[i]))
                throw new OptimizerException(ErrorCodes.FloatExportOverflow,
                    $"Tensor '{name}' holds {values[i]} (element {i}), beyond the range of {DTypes.SafetensorsName(_floatType)}; export as BF16 or F32.");
        }
    }
}
