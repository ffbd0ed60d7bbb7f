using System.Runtime.InteropServices;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Formats.HfExport;

/// <summary>
/// The weights of an int8/int4 folder written by <see cref="HfFolderExporter"/> (docs/safetensors-int.md) seen as
/// float weights: every quantized <c>X.weight</c> (I8 codes, or U8 packed nibbles) with its <c>X.weight_scale</c> is
/// offered as one F32 tensor <c>X.weight</c> of the original [out, in] shape, dequantized when read (the last one is
/// kept, so loading layer by layer costs one tensor of extra memory); the scale tensors are not offered; float tensors
/// pass through as stored. The layout is checked completely when opened. Thread-safe.
/// </summary>
public sealed class IntCheckpointSource : ITensorSource
{
    private sealed record Entry(TensorInfo Offered, TensorInfo? Codes, TensorInfo? Scales);

    private readonly ITensorSource _raw;
    private readonly Dictionary<string, Entry> _byName = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private (string Name, float[] Values)? _cached;

    private IntCheckpointSource(ITensorSource raw, IntQuantizationConfig config, string folder)
    {
        _raw = raw;
        Config = config;
        const string suffix = "_scale";
        var offered = new List<TensorInfo>();
        foreach (var tensor in raw.Tensors)
        {
            if (tensor.DType is DType.I8 or DType.U8)
            {
                var entry = Quantized(tensor, raw.Find(tensor.Name + suffix), folder);
                _byName.Add(tensor.Name, entry);
                offered.Add(entry.Offered);
            }
            else if (tensor.Name.EndsWith(suffix, StringComparison.Ordinal)
                && raw.Find(tensor.Name[..^suffix.Length]) is { DType: DType.I8 or DType.U8 })
            {
                continue; // consumed with its codes
            }
            else if (tensor.Name.EndsWith(suffix, StringComparison.Ordinal))
            {
                throw Invalid($"Tensor '{tensor.Name}' is a scale tensor without int8/int4 codes named '{tensor.Name[..^suffix.Length]}'.", tensor, folder);
            }
            else
            {
                _byName.Add(tensor.Name, new Entry(tensor, null, null));
                offered.Add(tensor);
            }
        }
        Tensors = offered;
    }

    /// <summary>The folder's quantization settings.</summary>
    public IntQuantizationConfig Config { get; }

    /// <inheritdoc/>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>
    /// Opens the weights of <paramref name="folder"/> when its config.json declares our int8/int4 layout
    /// (<c>quantization_config.quant_method</c> = <c>outlier-opt</c>); null otherwise.
    /// </summary>
    public static IntCheckpointSource? TryOpen(string folder)
    {
        var config = IntQuantizationConfig.TryLoad(Path.Combine(folder, "config.json"));
        if (config is null) return null;
        var raw = SafetensorsCheckpoint.Open(folder);
        try
        {
            return new IntCheckpointSource(raw, config, folder);
        }
        catch
        {
            raw.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public TensorInfo? Find(string name) => _byName.TryGetValue(name, out var entry) ? entry.Offered : null;

    /// <inheritdoc/>
    public void ReadBytes(TensorInfo tensor, ReadOnlySpanAction<byte, long> onChunk, int maxChunk = 1 << 30)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(onChunk);
        if (!_byName.TryGetValue(tensor.Name, out var entry))
            throw new ArgumentException($"Tensor '{tensor.Name}' is not in this checkpoint.", nameof(tensor));
        if (entry.Codes is null)
        {
            _raw.ReadBytes(entry.Offered, onChunk, maxChunk);
            return;
        }
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Dequantized F32 views are produced on little-endian hosts only.");
        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(Dequantized(entry).AsSpan());
        int chunk = Math.Max(sizeof(float), maxChunk / sizeof(float) * sizeof(float));
        for (int offset = 0; offset < bytes.Length; offset += chunk)
            onChunk(bytes.Slice(offset, Math.Min(chunk, bytes.Length - offset)), offset);
    }

    private float[] Dequantized(Entry entry)
    {
        lock (_gate)
        {
            if (_cached is { } hit && hit.Name == entry.Offered.Name) return hit.Values;
        }
        long rows = entry.Offered.Shape[0], cols = entry.Offered.Shape[1];
        var codes = ReadAll(entry.Codes!);
        var scaleBytes = ReadAll(entry.Scales!);
        var scales = new float[entry.Scales!.ElementCount];
        if (Config.ScaleDType == DType.F16) TensorData.HalfToFloat(scaleBytes, scales);
        else MemoryMarshal.Cast<byte, float>(scaleBytes.AsSpan()).CopyTo(scales);
        var values = new float[rows * cols];
        if (Config.Bits == 8) Int8PerChannel.Dequantize(MemoryMarshal.Cast<byte, sbyte>(codes.AsSpan()), scales, rows, cols, values);
        else Int4Grouped.Dequantize(codes, scales, rows, cols, Config.GroupSize, values);
        lock (_gate) _cached = (entry.Offered.Name, values);
        return values;
    }

    private byte[] ReadAll(TensorInfo tensor)
    {
        var bytes = new byte[tensor.Length];
        _raw.ReadBytes(tensor, (chunk, offset) => chunk.CopyTo(bytes.AsSpan((int)offset)));
        return bytes;
    }

    private Entry Quantized(TensorInfo codes, TensorInfo? scales, string folder)
    {
        var expected = Config.Bits == 8 ? DType.I8 : DType.U8;
        if (codes.DType != expected)
            throw Invalid($"Tensor '{codes.Name}' is {DTypes.SafetensorsName(codes.DType)}, but a {Config.Format} checkpoint stores codes as {DTypes.SafetensorsName(expected)}.", codes, folder);
        if (codes.Shape.Length != 2)
            throw Invalid($"Quantized tensor '{codes.Name}' has shape {codes.ShapeText}; codes are 2-D.", codes, folder);
        if (scales is null)
            throw Invalid($"Quantized tensor '{codes.Name}' has no scale tensor '{codes.Name}_scale'.", codes, folder);
        long rows = codes.Shape[0];
        long cols = Config.Bits == 8 ? codes.Shape[1] : checked(codes.Shape[1] * 2);
        long[] scaleShape = Config.Bits == 8 ? new[] { rows } : new[] { rows, Int4Grouped.GroupCount(cols, Config.GroupSize) };
        if (scales.DType != Config.ScaleDType || !scales.Shape.AsSpan().SequenceEqual(scaleShape))
            throw Invalid($"Scale tensor '{scales.Name}' is {DTypes.SafetensorsName(scales.DType)} {scales.ShapeText}; " +
                $"codes {codes.ShapeText} need {DTypes.SafetensorsName(Config.ScaleDType)} [{string.Join(", ", scaleShape)}].", scales, folder);
        if (rows * cols > Array.MaxLength)
            throw new OptimizerException(ErrorCodes.TensorTooLarge, $"Tensor '{codes.Name}' has {rows * cols} elements, more than one array can hold.", Path.Combine(folder, codes.File));
        var offered = codes with { DType = DType.F32, Shape = new[] { rows, cols }, Length = checked(rows * cols * sizeof(float)) };
        return new Entry(offered, codes, scales);
    }

    private static OptimizerException Invalid(string message, TensorInfo tensor, string folder) =>
        new(ErrorCodes.IntCheckpointInvalid, message + " (see docs/safetensors-int.md)", Path.Combine(folder, tensor.File));

    /// <summary>Unmaps the checkpoint and drops the cached tensor.</summary>
    public void Dispose()
    {
        lock (_gate) _cached = null;
        _raw.Dispose();
    }
}
