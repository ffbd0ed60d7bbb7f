namespace Optimizer.Engine.Diagnostics.ChannelOutliers;

/// <summary>Why a channel-wise outlier exists (manifest <c>channel_outliers[].cause</c>, PAPER-NOTES D3/D4).</summary>
public enum ChannelOutlierCause
{
    /// <summary><c>gamma</c>: at a norm output, the pre-γ input is flat in the channel and |γ_j| is an outlier.</summary>
    Gamma,

    /// <summary><c>otc</c>: at attn.q, a reading-A row of W_q or a reading-B column of W_q explains it.</summary>
    Otc,

    /// <summary><c>residual</c>: the residual stream (or the norm's pre-γ input) already has the outlier in this channel.</summary>
    Residual,

    /// <summary><c>unknown</c>: none of the above explains it.</summary>
    Unknown,
}

/// <summary>Manifest ids of <see cref="ChannelOutlierCause"/>.</summary>
public static class ChannelOutlierCauses
{
    /// <summary><c>gamma</c>, <c>otc</c>, <c>residual</c> or <c>unknown</c>.</summary>
    public static string Id(ChannelOutlierCause cause) => cause switch
    {
        ChannelOutlierCause.Gamma => "gamma",
        ChannelOutlierCause.Otc => "otc",
        ChannelOutlierCause.Residual => "residual",
        ChannelOutlierCause.Unknown => "unknown",
        _ => throw new ArgumentOutOfRangeException(nameof(cause), cause, "Unknown cause."),
    };
}
