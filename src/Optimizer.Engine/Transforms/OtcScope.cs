namespace Optimizer.Engine.Transforms;

/// <summary>Which (key/value head, RoPE pair) units OTC balancing rescales.</summary>
public enum OtcScope
{
    /// <summary><c>flagged</c> (default): units holding a reading-A OTC row or a channel-wise outlier at attn.q or attn.k.</summary>
    Flagged,

    /// <summary><c>all</c>: every unit of every layer.</summary>
    All,
}

/// <summary>Ids of <see cref="OtcScope"/>.</summary>
public static class OtcScopes
{
    /// <summary><c>flagged</c> or <c>all</c>.</summary>
    public static string Id(OtcScope scope) => scope switch
    {
        OtcScope.Flagged => "flagged",
        OtcScope.All => "all",
        _ => throw new ArgumentOutOfRangeException(nameof(scope), scope, "Unknown OTC scope."),
    };
}
