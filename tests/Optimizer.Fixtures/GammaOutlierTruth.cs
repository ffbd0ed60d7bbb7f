namespace Optimizer.Fixtures;

/// <summary>Ground truth of planted γ outlier channels in one norm.</summary>
/// <param name="Layer">Decoder layer.</param>
/// <param name="Norm"><c>input_layernorm</c> or <c>post_attention_layernorm</c>.</param>
/// <param name="Tensor">The norm weight's tensor name.</param>
/// <param name="Site">Where the channel-wise outliers appear: <c>attn.y2</c> or <c>y2</c>.</param>
/// <param name="Channels">The planted channels, ascending.</param>
/// <param name="Gammas">The stored γ of each channel.</param>
/// <param name="MedianAbsGamma">median|γ| of the whole norm weight (stored values).</param>
/// <param name="Ratios">|γ_c| / median|γ| per channel.</param>
/// <param name="RequestedScale">The scale asked for.</param>
/// <param name="ConsumersCompensated">Whether the consuming columns were divided by the same factor.</param>
/// <param name="CompensatedTensors">The tensors whose columns were divided (empty when not compensated).</param>
public sealed record GammaOutlierTruth(
    int Layer,
    string Norm,
    string Tensor,
    string Site,
    IReadOnlyList<int> Channels,
    IReadOnlyList<double> Gammas,
    double MedianAbsGamma,
    IReadOnlyList<double> Ratios,
    double RequestedScale,
    bool ConsumersCompensated,
    IReadOnlyList<string> CompensatedTensors);
