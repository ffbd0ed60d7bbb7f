namespace Optimizer.Engine.Diagnostics.ChannelOutliers;

/// <summary>
/// One outlier-triggering channel of W_q (manifest <c>findings.outlier_triggering_channels[]</c>, PAPER-NOTES D4).
/// </summary>
/// <param name="Layer">0-based decoder layer.</param>
/// <param name="Tensor">The q_proj weight's HF name.</param>
/// <param name="Reading">Row (reading A) or column (reading B).</param>
/// <param name="Index">The row (q output channel) or column (hidden input channel).</param>
/// <param name="RopePair">Reading A: the rotate_half partner row h·d + (i + d/2) mod d within the head; null for columns.</param>
/// <param name="Score">
/// Reading A: median_t |Q[t, j]| / median over (t, j') |Q[t, j']|. Reading B: c_i / lower-median over i' of c_i', with
/// c_i = median_t |attn.y2[t, i]| · max_r |W_q[r, i]| (see <see cref="QueryOutlierScorer.Columns"/>).
/// </param>
public sealed record OutlierTriggeringChannel(int Layer, string Tensor, OtcReading Reading, int Index, int? RopePair, double Score)
{
    /// <summary>Manifest id of <see cref="Reading"/>.</summary>
    public string ReadingId => OtcReadings.Id(Reading);
}
