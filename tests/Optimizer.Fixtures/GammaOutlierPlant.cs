namespace Optimizer.Fixtures;

/// <summary>
/// Plants γ outlier channels: in the chosen norm of decoder layer <see cref="Layer"/>, channels
/// <see cref="Channels"/> get |γ_c| = <see cref="Scale"/> × median|γ| (sign kept), so that the norm output has
/// channel-wise outliers for every token while the pre-γ normalized input stays flat.
/// </summary>
/// <param name="Layer">Decoder layer (0-based).</param>
/// <param name="Norm">Attention norm (<c>input_layernorm</c>) or FFN norm (<c>post_attention_layernorm</c>).</param>
/// <param name="Channels">Distinct hidden channels.</param>
/// <param name="Scale">|γ_c| / median|γ|, in (1, 1000] (typical 20–50).</param>
public sealed record GammaOutlierPlant(int Layer, PlantedNorm Norm, IReadOnlyList<int> Channels, double Scale = 30)
{
    /// <summary>
    /// When true (default) the consuming weight columns (q/k/v or gate/up) are divided by the same factor, so the
    /// model computes exactly what it computed before planting and only the norm output carries the outliers (the
    /// situation that γ flattening undoes exactly). When false the larger y2 flows into the consumers unchanged.
    /// </summary>
    public bool CompensateConsumers { get; init; } = true;

    internal void Validate(int layers, int hidden)
    {
        if (Layer < 0 || Layer >= layers)
            throw new ArgumentException($"γ outlier layer {Layer} is outside 0..{layers - 1}.", nameof(Layer));
        if (Channels is null || Channels.Count == 0)
            throw new ArgumentException("A γ outlier plant needs at least one channel.", nameof(Channels));
        if (Channels.Count * 2 > hidden)
            throw new ArgumentException($"{Channels.Count} γ outlier channels are too many for hidden size {hidden}: they must stay a minority.", nameof(Channels));
        var seen = new HashSet<int>();
        foreach (int c in Channels)
        {
            if (c < 0 || c >= hidden) throw new ArgumentException($"γ outlier channel {c} is outside 0..{hidden - 1}.", nameof(Channels));
            if (!seen.Add(c)) throw new ArgumentException($"γ outlier channel {c} is listed twice.", nameof(Channels));
        }
        if (!(Scale > 1 && Scale <= 1000))
            throw new ArgumentException($"γ outlier scale {Scale} must be in (1, 1000].", nameof(Scale));
    }
}
