namespace Optimizer.Engine.Formats;

/// <summary>How many tensors and parameters of a model have one element type.</summary>
public sealed record DTypeCount(DType DType, int Tensors, long Parameters);
