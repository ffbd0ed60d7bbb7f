namespace Optimizer.Fixtures;

/// <summary>The contiguous layers in which <see cref="Site"/> carries the massive activation at channel <see cref="Index"/>.</summary>
public sealed record PropagationRange(string Site, int Index, int FirstLayer, int LastLayer);
