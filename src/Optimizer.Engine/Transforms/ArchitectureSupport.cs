using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// The one place that says which mitigations are exact on which architecture (docs/model-families.md, "Gemma 2 and Gemma 3 text"). On the Llama
/// families every mitigation applies. On Gemma the norms multiply by 1 + γ (the planners fold scales into that
/// multiplier, <see cref="LayerTransformer"/>), and every rescaling the planners make stays exact: input-side column
/// scales (norm, smooth, awq) are absorbed by the norm before the linears, v/o and up/down pairs cancel inside the
/// sub-block before its post norm, and nothing rescales the rows of o_proj or down_proj, whose outputs the post norms
/// re-normalize. Gemma 3 normalizes each query and key head after the projection (q_norm/k_norm), so OTC balancing,
/// which scales q rows by 1/s and k rows by s, would change the normalized heads: it is not exact there.
/// </summary>
public static class ArchitectureSupport
{
    /// <summary>Why <paramref name="mitigation"/> is not exact on <paramref name="config"/>'s architecture; null when it is.</summary>
    public static string? Unsupported(Mitigation mitigation, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (mitigation == Mitigation.Otc && config.IsGemma3)
            return $"otc is not exact on {config.ModelType}: q_norm/k_norm re-normalize each query and key head after q_proj/k_proj, "
                + "so scaling their rows by 1/s and s changes the attention scores.";
        return null;
    }

    /// <summary>
    /// Checks the requested mitigations: an unsupported one throws <see cref="ErrorCodes.TransformUnsupportedArchitecture"/>
    /// naming the reason unless <see cref="TransformOptions.SkipUnsupported"/> (the default <c>all</c>), in which case
    /// it is returned with its reason to be recorded as skipped.
    /// </summary>
    public static IReadOnlyList<(Mitigation Mitigation, string Reason)> Check(TransformOptions options, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(options);
        var skipped = new List<(Mitigation, string)>();
        foreach (var mitigation in Mitigations.Ordered)
        {
            if (!options.Has(mitigation) || Unsupported(mitigation, config) is not string reason) continue;
            if (!options.SkipUnsupported) throw new OptimizerException(ErrorCodes.TransformUnsupportedArchitecture, reason);
            skipped.Add((mitigation, reason));
        }
        return skipped;
    }
}
