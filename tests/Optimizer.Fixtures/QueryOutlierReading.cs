namespace Optimizer.Fixtures;

/// <summary>The two readings of an outlier-triggering channel (OTC) in W_q (PAPER-NOTES §5 D4).</summary>
public enum QueryOutlierReading
{
    /// <summary>Reading A: output rows of <c>q_proj</c> are scaled, so their q output channels are channel-wise outliers.</summary>
    OutputRows,

    /// <summary>Reading B: input columns of <c>q_proj</c> are scaled, so those y2 channels dominate the q products.</summary>
    InputColumns,
}
