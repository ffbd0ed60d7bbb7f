namespace Optimizer.Engine.Tests.Fixtures;

/// <summary>
/// The detection criteria the synthetic models are designed against, applied to full activations [tokens][channels]:
/// massive activations (|x| &gt; 100 and ≥ 1000 × the token's lower-median |x|) and channel-wise outliers (a
/// channel's lower-median |x| over tokens ≥ <c>k</c> × the lower median over channels of those medians).
/// </summary>
internal static class OutlierCensus
{
    public const double MassiveAbsolute = 100;
    public const double MassiveRelative = 1000;
    public const double ChannelFactor = 10;

    /// <summary>Every (token, channel, value) that is a massive activation.</summary>
    public static List<(int Token, int Channel, double Value)> Massive(double[][] rows)
    {
        var found = new List<(int, int, double)>();
        for (int t = 0; t < rows.Length; t++)
        {
            double median = LowerMedianAbs(rows[t]);
            for (int c = 0; c < rows[t].Length; c++)
            {
                double x = Math.Abs(rows[t][c]);
                if (x > MassiveAbsolute && x >= MassiveRelative * median) found.Add((t, c, rows[t][c]));
            }
        }
        return found;
    }

    /// <summary>Per-channel lower-median |x| over tokens.</summary>
    public static double[] ChannelMedians(double[][] rows)
    {
        int channels = rows[0].Length;
        var medians = new double[channels];
        var column = new double[rows.Length];
        for (int c = 0; c < channels; c++)
        {
            for (int t = 0; t < rows.Length; t++) column[t] = rows[t][c];
            medians[c] = LowerMedianAbs(column);
        }
        return medians;
    }

    /// <summary>Channels whose median |x| over tokens is at least <paramref name="factor"/> × the median over channels, ascending.</summary>
    public static int[] ChannelOutliers(double[][] rows, double factor = ChannelFactor)
    {
        var medians = ChannelMedians(rows);
        double typical = LowerMedianAbs(medians);
        return Enumerable.Range(0, medians.Length).Where(c => medians[c] >= factor * typical).ToArray();
    }

    /// <summary>The largest channel ratio (channel median / median over channels).</summary>
    public static double MaxChannelRatio(double[][] rows)
    {
        var medians = ChannelMedians(rows);
        return medians.Max() / LowerMedianAbs(medians);
    }

    public static double MaxAbs(double[][] rows) => rows.Max(r => r.Max(Math.Abs));

    public static double LowerMedianAbs(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return 0;
        var a = new double[values.Count];
        for (int i = 0; i < a.Length; i++) a[i] = Math.Abs(values[i]);
        Array.Sort(a);
        return a[(a.Length - 1) / 2];
    }
}
