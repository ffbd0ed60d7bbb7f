using Optimizer.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Optimizer.Engine.Evaluation;

/// <summary>
/// Applies an <see cref="ActivationQuantization"/> to one linear input inside the forward pass (see there for the
/// arithmetic). Without quantization the input itself is returned, so the forward is unchanged bit for bit.
/// </summary>
internal static class ActivationFakeQuantizer
{
    // The smallest normal float: a per-token scale never gets smaller, so an all-zero token divides 0 by it (giving 0)
    // instead of 0 by 0, and a denormal scale cannot be flushed to zero.
    private const float SmallestScale = 1.17549435e-38f;

    /// <summary>
    /// Returns <paramref name="x"/> ([..., C] float32) quantized and dequantized for the linear input
    /// <paramref name="site"/> of <paramref name="layer"/>: a new tensor (in the caller's dispose scope), or
    /// <paramref name="x"/> itself when <paramref name="quantization"/> is null.
    /// </summary>
    public static Tensor Apply(Tensor x, ActivationQuantization? quantization, int layer, ProbeSite site)
    {
        if (quantization is null) return x;
        int qmax = quantization.MaxCode;
        // Every number handed to torch is an explicitly disposed Scalar: an implicit conversion leaves the native scalar
        // to the finalizer thread, which may free it while libtorch still reads it.
        using Scalar upper = qmax.ToScalar();
        using Scalar lower = (-qmax).ToScalar();
        if (quantization.Mode == ActivationQuantMode.PerTokenDynamic)
        {
            using Tensor abs = x.abs();
            using Scalar smallest = SmallestScale.ToScalar();
            using Tensor scale = abs.amax(new long[] { -1 }, keepdim: true).div_(upper).clamp_min_(smallest);
            return x.div(scale).round_().clamp_(lower, upper).mul_(scale);
        }
        double step = quantization.Scales!.Scale(layer, site, quantization.Bits);
        if (step == 0) return zeros_like(x); // the site was never non-zero in calibration: every code is 0
        using Scalar stepScalar = step.ToScalar();
        return x.div(stepScalar).round_().clamp_(lower, upper).mul_(stepScalar);
    }
}
