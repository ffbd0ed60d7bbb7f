namespace Optimizer.Engine.Diagnostics.MassiveActivations;

/// <summary>A residual channel that carries MAs (manifest <c>findings.propagation</c>).</summary>
/// <param name="Channel">Residual channel.</param>
/// <param name="TokenPositions">Distinct sequence positions where the channel is an MA at a residual site, sorted.</param>
/// <param name="FirstLayer">First layer where a residual site (attn.y1, y1, y8) has the channel as an MA.</param>
/// <param name="LastLayer">Last such layer.</param>
/// <param name="MaxAbs">Largest |value| over those occurrences.</param>
public sealed record ResidualPropagation(int Channel, IReadOnlyList<int> TokenPositions, int FirstLayer, int LastLayer, double MaxAbs);
