namespace Optimizer.Engine.Diagnostics.ChannelOutliers;

/// <summary>The two readings of an outlier-triggering channel of W_q (PAPER-NOTES D4).</summary>
public enum OtcReading
{
    /// <summary>Reading A (<c>row</c>): an output row of W_q whose q channel is a channel-wise outlier.</summary>
    Row,

    /// <summary>Reading B (<c>column</c>): an input column whose contribution to q dominates on typical tokens.</summary>
    Column,
}

/// <summary>Manifest ids of <see cref="OtcReading"/>.</summary>
public static class OtcReadings
{
    /// <summary><c>row</c> or <c>column</c>.</summary>
    public static string Id(OtcReading reading) => reading switch
    {
        OtcReading.Row => "row",
        OtcReading.Column => "column",
        _ => throw new ArgumentOutOfRangeException(nameof(reading), reading, "Unknown reading."),
    };
}
