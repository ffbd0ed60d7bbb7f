namespace Optimizer.Engine.Evaluation;

/// <summary>How the scale of an activation fake quantization is chosen.</summary>
public enum ActivationQuantMode
{
    /// <summary>
    /// One scale per linear input and layer, fixed before inference from calibration (<see cref="StaticActivationScales"/>):
    /// <c>max|x| / qmax</c>. Values beyond the calibrated range are clamped (W8A8-static style kernels).
    /// </summary>
    PerTensorStatic,

    /// <summary>One scale per token (row), computed at run time from that token's own <c>max|x| / qmax</c>; nothing clamps.</summary>
    PerTokenDynamic,
}
