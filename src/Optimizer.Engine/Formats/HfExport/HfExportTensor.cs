namespace Optimizer.Engine.Formats.HfExport;

/// <summary>
/// One model tensor as exported: its Hugging Face name, how it is stored (<c>F32</c>, <c>F16</c>, <c>BF16</c>,
/// <c>int8</c>, <c>int4-g128</c>, …), the bytes it takes in the file (codes and scales together) and the relative RMSE
/// of what a reader gets back against the exported values: sqrt(Σ(x − x̂)² / Σx²), 0 when exact.
/// </summary>
public sealed record HfExportTensor(string Name, string Storage, long Bytes, double RelativeRmse);
