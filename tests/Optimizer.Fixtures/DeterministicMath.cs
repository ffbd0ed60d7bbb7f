namespace Optimizer.Fixtures;

/// <summary>
/// Natural logarithm and exponential built only from IEEE-754 basic operations (+, −, ×, ÷) and exact power-of-two
/// scaling, so that their results are bit-identical on every CPU and runtime (unlike the platform's libm). Accurate to
/// about one unit in the last place, which is all the synthetic-model builder needs.
/// </summary>
public static class DeterministicMath
{
    private const double Ln2Hi = 6.93147180369123816490e-01;
    private const double Ln2Lo = 1.90821492927058770002e-10;
    private const double InvLn2 = 1.44269504088896338700;

    /// <summary>ln(<paramref name="x"/>) for x &gt; 0; NaN for negative or NaN input, −∞ for 0, +∞ for +∞.</summary>
    public static double Log(double x)
    {
        if (double.IsNaN(x) || x < 0) return double.NaN;
        if (x == 0) return double.NegativeInfinity;
        if (double.IsPositiveInfinity(x)) return x;
        int exponentBias = 0;
        if (x < 2.2250738585072014e-308)
        {
            x *= 18014398509481984.0; // 2^54: bring subnormals into the normal range
            exponentBias = -54;
        }
        long bits = BitConverter.DoubleToInt64Bits(x);
        int exponent = (int)((bits >> 52) & 0x7FF) - 1023 + exponentBias;
        double m = BitConverter.Int64BitsToDouble((bits & 0x000FFFFFFFFFFFFFL) | 0x3FF0000000000000L); // [1, 2)
        if (m > 1.4142135623730951)
        {
            m *= 0.5;
            exponent++;
        }
        // ln m = 2 atanh(s), s = (m − 1)/(m + 1), |s| <= 0.1716: the odd series converges below 1e-17 in 11 terms.
        double s = (m - 1.0) / (m + 1.0);
        double s2 = s * s;
        double sum = 0.0;
        for (int n = 21; n >= 3; n -= 2) sum = (sum + 1.0 / n) * s2;
        double lnM = 2.0 * s + 2.0 * s * sum;
        return exponent * Ln2Hi + (exponent * Ln2Lo + lnM);
    }

    /// <summary>e^<paramref name="x"/>; 0 below −745, +∞ above 709.78.</summary>
    public static double Exp(double x)
    {
        if (double.IsNaN(x)) return x;
        if (x > 709.782712893384) return double.PositiveInfinity;
        if (x < -745.1332191019412) return 0.0;
        double k = Math.Round(x * InvLn2, MidpointRounding.ToEven);
        double r = (x - k * Ln2Hi) - k * Ln2Lo; // |r| <= ln2/2
        // Taylor series of e^r to degree 14 (remainder below 1e-17 for |r| <= 0.347), Horner form.
        double sum = 1.0;
        for (int n = 14; n >= 1; n--) sum = 1.0 + sum * r / n;
        return Math.ScaleB(sum, (int)k);
    }

    /// <summary>SiLU(x) = x / (1 + e^−x), the Llama FFN activation.</summary>
    public static double Silu(double x) => x / (1.0 + Exp(-x));
}
