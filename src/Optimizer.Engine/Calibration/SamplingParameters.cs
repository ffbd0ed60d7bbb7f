namespace Optimizer.Engine.Calibration;

/// <summary>How self-sampled calibration text was drawn.</summary>
/// <param name="Temperature">Softmax temperature.</param>
/// <param name="TopK">Tokens drawn from per step (the most likely ones).</param>
/// <param name="Context">Tokens the model sees per step: the first token plus the latest ones.</param>
public sealed record SamplingParameters(double Temperature, int TopK, int Context);
