using Optimizer.Engine.Evaluation;

namespace Optimizer.Tool.Eval;

/// <summary>One activation scheme named on the command line: <c>a8-static</c>, <c>a8-dynamic</c>, <c>a4-static</c> or <c>a4-dynamic</c>.</summary>
public sealed record ActivationScheme(int Bits, ActivationQuantMode Mode)
{
    /// <summary>The command-line spelling.</summary>
    public string Name => $"a{Bits}-" + (Mode == ActivationQuantMode.PerTensorStatic ? "static" : "dynamic");
}
