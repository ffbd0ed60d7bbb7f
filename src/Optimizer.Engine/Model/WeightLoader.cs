using Optimizer.Engine.Formats;
using static TorchSharp.torch;

namespace Optimizer.Engine.Model;

/// <summary>
/// Moves stored weights into native torch tensors: bytes go from the <see cref="ITensorSource"/> view straight into an
/// empty tensor of the stored dtype (no managed copy of the tensor), which is then converted to float32 on the device.
/// </summary>
internal static class WeightLoader
{
    private const int ChunkBytes = 1 << 26;

    /// <summary>Checks that every tensor <paramref name="config"/> needs is present, with the right shape and a float dtype.</summary>
    public static void ValidateAll(ITensorSource source, ModelConfig config)
    {
        foreach (var (role, layer, _, _) in LlamaTensorNames.Expected(config)) Find(source, config, role, layer);
    }

    /// <summary>Loads the tensor of <paramref name="role"/> (and <paramref name="layer"/>) as float32 on <paramref name="device"/>.</summary>
    /// <remarks>The result is detached from any dispose scope; the caller owns it.</remarks>
    public static Tensor LoadFloat32(ITensorSource source, ModelConfig config, TensorRole role, int layer, Device device)
    {
        TensorInfo info = Find(source, config, role, layer);
        ScalarType stored = ToScalarType(info);
        Tensor raw = empty(info.Shape, stored, CPU);
        try
        {
            Fill(source, info, raw);
            Tensor result = TensorMoves.MoveTo(raw, ScalarType.Float32, device).DetachFromDisposeScope();
            try
            {
                RequireFinite(source, info, result);
            }
            catch
            {
                result.Dispose();
                throw;
            }
            return result;
        }
        catch
        {
            raw.Dispose();
            throw;
        }
    }

    /// <summary>Tensors of each source already checked for NaN and infinities (each is checked once).</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ITensorSource, HashSet<string>> Checked = new();

    /// <summary>
    /// Fails with <see cref="ErrorCodes.WeightsNonFinite"/> (file, tensor, first flat index and value) when the loaded
    /// weight holds NaN or an infinity: such a model would only fail later with an unrelated message, or print NaN.
    /// </summary>
    private static void RequireFinite(ITensorSource source, TensorInfo info, Tensor weight)
    {
        HashSet<string> done = Checked.GetValue(source, _ => new HashSet<string>(StringComparer.Ordinal));
        lock (done)
        {
            if (done.Contains(info.Name)) return;
        }
        using (var scope = NewDisposeScope())
        {
            Tensor flat = weight.reshape(-1);
            Tensor bad = logical_not(isfinite(flat));
            if (bad.any().item<bool>())
            {
                long index = bad.to(ScalarType.Int8).argmax().item<long>();
                float value = flat[index].to(CPU).item<float>();
                throw new OptimizerException(ErrorCodes.WeightsNonFinite,
                    $"Tensor \"{info.Name}\" holds a non-finite value ({value.ToString(System.Globalization.CultureInfo.InvariantCulture)}) at flat index {index}; " +
                    "the model cannot be evaluated or quantized. Re-export it from a healthy checkpoint.", info.File);
            }
        }
        lock (done) done.Add(info.Name);
    }

    private static TensorInfo Find(ITensorSource source, ModelConfig config, TensorRole role, int layer)
    {
        string name = LlamaTensorNames.Name(role, layer, config);
        TensorInfo info = source.Find(name)
            ?? throw new OptimizerException(ErrorCodes.TensorMissing, $"Tensor \"{name}\" is missing from the checkpoint.");
        long[] expected = LlamaTensorNames.ExpectedShape(role, config);
        if (!info.Shape.AsSpan().SequenceEqual(expected))
            throw new OptimizerException(ErrorCodes.TensorShapeMismatch,
                $"Tensor \"{name}\" has shape {info.ShapeText}; the config implies [{string.Join(", ", expected)}].", info.File);
        ToScalarType(info);
        long bytes = checked(info.ElementCount * DTypes.SizeOf(info.DType));
        if (bytes != info.Length)
            throw new OptimizerException(ErrorCodes.TensorShapeMismatch,
                $"Tensor \"{name}\" holds {info.Length} bytes; shape {info.ShapeText} of {DTypes.SafetensorsName(info.DType)} needs {bytes}.", info.File);
        return info;
    }

    private static ScalarType ToScalarType(TensorInfo info) => info.DType switch
    {
        DType.F32 => ScalarType.Float32,
        DType.F16 => ScalarType.Float16,
        DType.BF16 => ScalarType.BFloat16,
        DType.F64 => ScalarType.Float64,
        _ => throw new OptimizerException(ErrorCodes.UnsupportedDType,
            $"Tensor \"{info.Name}\" is stored as {DTypes.SafetensorsName(info.DType)}; weights must be F32, F16, BF16 or F64.", info.File),
    };

    /// <summary>
    /// Copies the stored bytes into <paramref name="target"/> (contiguous, CPU, same dtype). Chunks need not be aligned to
    /// elements: a partial element at a chunk's end is held back (at most 7 bytes) and completed by the next chunk.
    /// </summary>
    private static void Fill(ITensorSource source, TensorInfo info, Tensor target)
    {
        int size = DTypes.SizeOf(info.DType);
        using Tensor flat = target.view(-1);
        int pendingCount = 0;
        long written = 0; // bytes of whole elements written
        byte[] carry = new byte[8];
        source.ReadBytes(info, (chunk, offset) =>
        {
            if (offset != written + pendingCount)
                throw new OptimizerException(ErrorCodes.SafetensorsOffsetsInvalid, $"Tensor \"{info.Name}\" was read out of order.", info.File);
            if (pendingCount > 0)
            {
                int take = Math.Min(size - pendingCount, chunk.Length);
                chunk[..take].CopyTo(carry.AsSpan(pendingCount));
                pendingCount += take;
                chunk = chunk[take..];
                if (pendingCount < size) return;
                CopyElements(flat, written / size, carry.AsSpan(0, size), size);
                written += size;
                pendingCount = 0;
            }
            int whole = chunk.Length / size * size;
            if (whole > 0)
            {
                CopyElements(flat, written / size, chunk[..whole], size);
                written += whole;
            }
            int rest = chunk.Length - whole;
            if (rest > 0)
            {
                chunk[whole..].CopyTo(carry);
                pendingCount = rest;
            }
        }, ChunkBytes);
        if (written != info.Length || pendingCount != 0)
            throw new OptimizerException(ErrorCodes.SafetensorsTruncated,
                $"Tensor \"{info.Name}\" delivered {written + pendingCount} of {info.Length} bytes.", info.File);
    }

    private static void CopyElements(Tensor flat, long firstElement, ReadOnlySpan<byte> bytes, int size)
    {
        using Tensor view = flat.narrow(0, firstElement, bytes.Length / size);
        bytes.CopyTo(view.bytes);
    }
}
