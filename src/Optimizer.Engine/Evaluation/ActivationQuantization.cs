namespace Optimizer.Engine.Evaluation;

/// <summary>
/// Fake quantization of the input of every linear layer (q/k/v_proj, o_proj, gate/up_proj, down_proj): each input is
/// quantized to signed <see cref="Bits"/>-bit integers and dequantized again before the matrix product, so a float model
/// shows the accuracy of integer activation kernels. Symmetric, no zero point: <c>q = clamp(round(x / s), −qmax, qmax)</c>
/// with <c>qmax = 2^(bits−1) − 1</c> (127 or 7; the most negative code is left unused, so the grid is symmetric), rounding
/// half to even, and <c>x̂ = q · s</c>. The scale <c>s</c> comes from <see cref="Mode"/>. The probe sites still observe the
/// unquantized activations.
/// </summary>
/// <param name="Bits">8 or 4.</param>
/// <param name="Mode">Per-tensor static scales (from <paramref name="Scales"/>) or per-token dynamic scales.</param>
/// <param name="Scales">The calibrated ranges; required for <see cref="ActivationQuantMode.PerTensorStatic"/>, ignored otherwise.</param>
public sealed record ActivationQuantization(int Bits, ActivationQuantMode Mode, StaticActivationScales? Scales = null)
{
    /// <summary>The largest integer code, <c>2^(Bits−1) − 1</c>.</summary>
    public int MaxCode => (1 << (Bits - 1)) - 1;

    /// <summary>A short name for tables, e.g. <c>a8-static</c> or <c>a4-dynamic</c>.</summary>
    public string Name => $"a{Bits}-" + (Mode == ActivationQuantMode.PerTensorStatic ? "static" : "dynamic");

    /// <summary>
    /// Checks the settings against a model of <paramref name="layers"/> decoder layers; throws
    /// <see cref="OptimizerException"/> with <see cref="ErrorCodes.ActivationQuantizationInvalid"/>.
    /// </summary>
    public void Validate(int layers)
    {
        if (Bits is not (8 or 4))
            throw new OptimizerException(ErrorCodes.ActivationQuantizationInvalid, $"Activation quantization supports 8 or 4 bits, not {Bits}.");
        if (!Enum.IsDefined(Mode))
            throw new OptimizerException(ErrorCodes.ActivationQuantizationInvalid, $"Unknown activation quantization mode {(int)Mode}.");
        if (Mode != ActivationQuantMode.PerTensorStatic) return;
        if (Scales is null)
            throw new OptimizerException(ErrorCodes.ActivationQuantizationInvalid,
                "Per-tensor static activation quantization needs calibrated scales (StaticActivationScales.Calibrate).");
        if (Scales.Layers != layers)
            throw new OptimizerException(ErrorCodes.ActivationQuantizationInvalid,
                $"The static activation scales were calibrated for {Scales.Layers} layer(s); this model has {layers}.");
    }
}
