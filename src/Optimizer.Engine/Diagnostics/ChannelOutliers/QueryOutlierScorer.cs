namespace Optimizer.Engine.Diagnostics.ChannelOutliers;

/// <summary>
/// Finds outlier-triggering channels of one layer's W_q (PAPER-NOTES D4), both readings, from streamed statistics and
/// the stored weight (HF layout [out, in]).
/// </summary>
public static class QueryOutlierScorer
{
    /// <summary>
    /// Reading A: rows j with s_j = median_t |Q[t, j]| / median over (t, j') |Q[t, j']| ≥ <paramref name="ratio"/>, from
    /// the attn.q histogram; each with its rotate_half partner row within its head. Ascending by row; empty when the
    /// overall median is 0. <paramref name="rotaryDims"/> (default: the whole head) is phi3's partial rotary: a row past
    /// it has no partner and is its own.
    /// </summary>
    public static IReadOnlyList<OutlierTriggeringChannel> Rows(int layer, string tensor, ChannelHistogram query, int headDim, double ratio, int? rotaryDims = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (headDim < 2 || headDim % 2 != 0 || query.Channels % headDim != 0)
            throw new ArgumentException($"attn.q has {query.Channels} channels, which is not a whole number of heads of size {headDim} (even).", nameof(headDim));
        double overall = query.MedianOfAllEntries();
        var found = new List<OutlierTriggeringChannel>();
        if (!(overall > 0)) return found;
        for (int j = 0; j < query.Channels; j++)
        {
            double score = query.Median(j) / overall;
            if (score >= ratio) found.Add(new OutlierTriggeringChannel(layer, tensor, OtcReading.Row, j, RopePartner(j, headDim, rotaryDims ?? headDim), score));
        }
        return found;
    }

    /// <summary>
    /// Reading B: columns i with score c_i / lower-median over i' of c_i' ≥ <paramref name="ratio"/>, where
    /// c_i = median_t |attn.y2[t, i]| · max_r |W_q[r, i]| is the column's contribution on a typical token (the largest
    /// product |y2[t, i]·W_q[r, i]| over rows, at the channel's median input). The notes' max over tokens is not used:
    /// on a massive-activation token (BOS) the normalized residual channel reaches about √hidden, so a max-based score
    /// grows with the model width and flags the MA channel although no weight column is special. Ascending by column;
    /// empty when the median contribution is 0.
    /// </summary>
    public static IReadOnlyList<OutlierTriggeringChannel> Columns(int layer, string tensor, ReadOnlySpan<double> inputMedianAbs, ReadOnlySpan<float> weight, double ratio)
    {
        int hidden = inputMedianAbs.Length;
        double[] contribution = ColumnContributions(inputMedianAbs, weight);
        double median = Statistics.LowerMedian(contribution);
        var found = new List<OutlierTriggeringChannel>();
        if (!(median > 0)) return found;
        for (int i = 0; i < hidden; i++)
        {
            double score = contribution[i] / median;
            if (score >= ratio) found.Add(new OutlierTriggeringChannel(layer, tensor, OtcReading.Column, i, null, score));
        }
        return found;
    }

    /// <summary>c_i = <paramref name="inputMagnitude"/>[i] · max_r |W[r, i]| for every input column i (W row-major [rows, inputs]).</summary>
    public static double[] ColumnContributions(ReadOnlySpan<double> inputMagnitude, ReadOnlySpan<float> weight)
    {
        int hidden = inputMagnitude.Length;
        if (hidden == 0 || weight.Length % hidden != 0)
            throw new ArgumentException($"The weight has {weight.Length} elements, not a multiple of the {hidden} input channels.", nameof(weight));
        var columnMax = new double[hidden];
        for (int offset = 0; offset < weight.Length; offset += hidden)
        {
            ReadOnlySpan<float> row = weight.Slice(offset, hidden);
            for (int i = 0; i < hidden; i++) columnMax[i] = Math.Max(columnMax[i], Math.Abs(row[i]));
        }
        for (int i = 0; i < hidden; i++) columnMax[i] *= inputMagnitude[i];
        return columnMax;
    }

    /// <summary>The rotate_half RoPE partner of q row <paramref name="row"/>: h·d + (i + d/2) mod d for row h·d + i.</summary>
    public static int RopePartner(int row, int headDim) => RopePartner(row, headDim, headDim);

    /// <summary>
    /// The partner of q row <paramref name="row"/> when only the first <paramref name="rotaryDims"/> dimensions of a head
    /// rotate: h·d + (i + R/2) mod R for i &lt; R, the row itself for i ≥ R.
    /// </summary>
    public static int RopePartner(int row, int headDim, int rotaryDims)
    {
        if (row < 0) throw new ArgumentOutOfRangeException(nameof(row));
        if (headDim < 2 || headDim % 2 != 0) throw new ArgumentOutOfRangeException(nameof(headDim));
        if (rotaryDims < 2 || rotaryDims % 2 != 0 || rotaryDims > headDim) throw new ArgumentOutOfRangeException(nameof(rotaryDims));
        int head = row / headDim, i = row % headDim;
        return i >= rotaryDims ? row : head * headDim + (i + rotaryDims / 2) % rotaryDims;
    }
}
