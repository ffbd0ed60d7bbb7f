using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Formats.HfExport;

/// <summary>
/// Settings of <see cref="HfFolderExporter"/>. <see cref="Validate"/> (called by the exporter) rejects bad values with
/// <see cref="ErrorCodes.HfExportOptionInvalid"/>.
/// </summary>
public sealed record HfExportOptions
{
    /// <summary>The default shard limit: 2 GB (2·10⁹ bytes of tensor data per file), as Hugging Face's "2GB".</summary>
    public const long DefaultMaxShardBytes = 2_000_000_000;

    /// <summary>Float or int8/int4 weights (default float).</summary>
    public HfWeightFormat Format { get; init; } = HfWeightFormat.Float;

    /// <summary>
    /// The type of every tensor stored as float (all of them for <see cref="HfWeightFormat.Float"/>; norms, biases and,
    /// unless <see cref="QuantizeEmbeddings"/>, embeddings for int8/int4): F32, F16 or BF16. Null (default): the type that
    /// holds most of the source model's parameters (F32 when that is not a float type).
    /// </summary>
    public DType? FloatDType { get; init; }

    /// <summary>int4 only: columns per scale group, 32 or 128 (default 128).</summary>
    public int GroupSize { get; init; } = 128;

    /// <summary>int8/int4: the stored type of the scales, F16 (default) or F32.</summary>
    public DType ScaleDType { get; init; } = DType.F16;

    /// <summary>int8/int4: also quantize the token embedding and the output head (default: keep them float).</summary>
    public bool QuantizeEmbeddings { get; init; }

    /// <summary>Tensor bytes per safetensors file; above it the weights are sharded with an index (default 2 GB).</summary>
    public long MaxShardBytes { get; init; } = DefaultMaxShardBytes;

    /// <summary>
    /// Options from a quantization name as the command line spells it: <c>F32</c>, <c>F16</c>, <c>BF16</c>, <c>int8</c>
    /// or <c>int4</c> (case-insensitive), with the int4 <paramref name="groupSize"/>. Unknown names throw
    /// <see cref="ErrorCodes.HfExportOptionInvalid"/>.
    /// </summary>
    public static HfExportOptions Parse(string quantization, int groupSize = 128)
    {
        ArgumentNullException.ThrowIfNull(quantization);
        var options = quantization.ToUpperInvariant() switch
        {
            "F32" => new HfExportOptions { FloatDType = DType.F32 },
            "F16" => new HfExportOptions { FloatDType = DType.F16 },
            "BF16" => new HfExportOptions { FloatDType = DType.BF16 },
            "INT8" => new HfExportOptions { Format = HfWeightFormat.Int8 },
            "INT4" => new HfExportOptions { Format = HfWeightFormat.Int4, GroupSize = groupSize },
            _ => throw new OptimizerException(ErrorCodes.HfExportOptionInvalid,
                $"\"{quantization}\" is not a safetensors weight format; use F32, F16, BF16, int8 or int4."),
        };
        options.Validate();
        return options;
    }

    /// <summary>Throws <see cref="OptimizerException"/> <see cref="ErrorCodes.HfExportOptionInvalid"/> for a bad value.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Format))
            throw new OptimizerException(ErrorCodes.HfExportOptionInvalid, $"Unknown weight format {(int)Format}.");
        if (FloatDType is DType f && !DTypes.IsWeightFloat(f))
            throw new OptimizerException(ErrorCodes.HfExportOptionInvalid,
                $"Float tensors are stored as F32, F16 or BF16, not {DTypes.SafetensorsName(f)}.");
        if (MaxShardBytes < 1)
            throw new OptimizerException(ErrorCodes.HfExportOptionInvalid, $"The shard size must be at least 1 byte, not {MaxShardBytes}.");
        if (Format == HfWeightFormat.Float) return;
        if (Format == HfWeightFormat.Int4 && Array.IndexOf(IntRoundTrip.SupportedGroupSizes, GroupSize) < 0)
            throw new OptimizerException(ErrorCodes.HfExportOptionInvalid, $"The int4 group size must be 32 or 128, not {GroupSize}.");
        if (ScaleDType is not (DType.F16 or DType.F32))
            throw new OptimizerException(ErrorCodes.HfExportOptionInvalid,
                $"Scales are stored as F16 or F32, not {DTypes.SafetensorsName(ScaleDType)}.");
    }

    /// <summary>The weight round trip these options write (null for float), for evaluation of exactly the exported values.</summary>
    public IntRoundTrip? CreateRoundTrip(ModelConfig config)
    {
        Validate();
        return Format switch
        {
            HfWeightFormat.Int8 => new IntRoundTrip(config, 8, 0, QuantizeEmbeddings, ScaleDType),
            HfWeightFormat.Int4 => new IntRoundTrip(config, 4, GroupSize, QuantizeEmbeddings, ScaleDType),
            _ => null,
        };
    }
}
