namespace Optimizer.Engine.Formats.HfExport;

/// <summary>How the exporter stores the weights of a Hugging Face folder.</summary>
public enum HfWeightFormat
{
    /// <summary>Every tensor in the float type of <see cref="HfExportOptions.FloatDType"/> (F32, F16 or BF16).</summary>
    Float,

    /// <summary>Linear weights as int8 with one scale per output channel; other tensors in the float type.</summary>
    Int8,

    /// <summary>Linear weights as packed int4 with one scale per group of input columns; other tensors in the float type.</summary>
    Int4,
}
