namespace Optimizer.Tool.Eval;

/// <summary>A weight scheme named on the command line: <c>int8</c> (per output channel) or <c>int4</c> / <c>int4-g128</c> / <c>int4-g32</c>.</summary>
public sealed record WeightScheme(int Bits, int GroupSize)
{
    /// <summary>The canonical spelling (<c>int8</c>, <c>int4-g128</c>, <c>int4-g32</c>).</summary>
    public string Name => Bits == 8 ? "int8" : $"int4-g{GroupSize}";
}
