namespace Optimizer.Fixtures;

/// <summary>The planted super weight: <c>down_proj[Row, Column]</c> of <see cref="Layer"/> (HF layout [out, in]).</summary>
/// <param name="Layer">The birth layer.</param>
/// <param name="Tensor">The Hugging Face tensor name.</param>
/// <param name="Row">Output row = residual channel j.</param>
/// <param name="Column">Input column = FFN neuron k.</param>
/// <param name="Value">The stored value (after rounding to the storage type).</param>
/// <param name="ColumnRatio">|Value| / the second largest |entry| of the column.</param>
public sealed record SuperWeightTruth(int Layer, string Tensor, int Row, int Column, double Value, double ColumnRatio);
