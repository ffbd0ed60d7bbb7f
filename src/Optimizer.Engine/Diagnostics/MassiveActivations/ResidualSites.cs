using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics.MassiveActivations;

/// <summary>The residual-stream sites (attn.y1, y1, y8), their order, and the block sites that feed each.</summary>
internal static class ResidualSites
{
    private static readonly ProbeSite[] AttentionBlock =
        { ProbeSite.AttnNormIn, ProbeSite.AttnY2, ProbeSite.AttnQ, ProbeSite.AttnK, ProbeSite.AttnV, ProbeSite.AttnOut, ProbeSite.AttnO };

    private static readonly ProbeSite[] FeedForwardBlock =
        { ProbeSite.NormIn, ProbeSite.Y2, ProbeSite.Y3, ProbeSite.Y4, ProbeSite.Y5, ProbeSite.Y6, ProbeSite.Y7 };

    /// <summary>Whether <paramref name="site"/> is on the residual stream.</summary>
    public static bool Contains(ProbeSite site) => site is ProbeSite.AttnY1 or ProbeSite.Y1 or ProbeSite.Y8;

    /// <summary>The residual site just before (layer, site) in the forward pass, or null for the embedding (layer 0, attn.y1).</summary>
    public static (int Layer, ProbeSite Site)? Previous(int layer, ProbeSite site) => site switch
    {
        ProbeSite.AttnY1 => layer > 0 ? (layer - 1, ProbeSite.Y8) : null,
        ProbeSite.Y1 => (layer, ProbeSite.AttnY1),
        ProbeSite.Y8 => (layer, ProbeSite.Y1),
        _ => throw new ArgumentOutOfRangeException(nameof(site), site, "Not a residual site."),
    };

    /// <summary>The sites of the block whose output is added to the residual at <paramref name="residual"/> (none for attn.y1).</summary>
    public static IReadOnlyList<ProbeSite> Feeding(ProbeSite residual) => residual switch
    {
        ProbeSite.Y1 => AttentionBlock,
        ProbeSite.Y8 => FeedForwardBlock,
        _ => Array.Empty<ProbeSite>(),
    };
}
