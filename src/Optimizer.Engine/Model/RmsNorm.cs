using static TorchSharp.torch;

namespace Optimizer.Engine.Model;

/// <summary>RMSNorm as in HF Llama, computed in float32: <c>x̂ = x · rsqrt(mean(x²) + eps)</c>, <c>y = γ ⊙ x̂</c>.</summary>
internal static class RmsNorm
{
    /// <summary>The normalized input before γ (<c>x̂</c>) over the last dimension.</summary>
    public static Tensor Normalize(Tensor x, double eps)
    {
        using Tensor square = ExplicitScalars.Square(x);
        using Tensor meanSquare = square.mean(new long[] { -1 }, keepdim: true);
        using Tensor inverse = ExplicitScalars.Add(meanSquare, eps).rsqrt_();
        return x * inverse;
    }

    /// <summary><c>γ ⊙ x̂</c> in one call, for norms whose pre-γ value no probe observes.</summary>
    public static Tensor Apply(Tensor x, Tensor gamma, double eps)
    {
        using Tensor normalized = Normalize(x, eps);
        return Scale(normalized, gamma);
    }

    /// <summary>γ applied to an already normalized tensor.</summary>
    public static Tensor Scale(Tensor normalized, Tensor gamma) => normalized * gamma;
}
