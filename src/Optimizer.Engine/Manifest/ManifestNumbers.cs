using System.Globalization;
using System.Text;

namespace Optimizer.Engine.Manifest;

/// <summary>
/// The manifest's number rules: statistics are rounded to 4 significant digits (<see cref="Round4"/>) and written in
/// the shortest text that round-trips the rounded double (<see cref="Format"/>), so a file does not depend on the CPU's
/// last-bit differences.
/// </summary>
public static class ManifestNumbers
{
    /// <summary>Significant digits kept by <see cref="Round4"/>.</summary>
    public const int SignificantDigits = 4;

    /// <summary>
    /// <paramref name="value"/> rounded to 4 significant digits. The rounding works on the shortest round-trip decimal
    /// representation of the double (the digits <c>double.ToString("R")</c> prints), half to even: 12.125 → 12.12,
    /// 12.135 → 12.14, 0.000123456 → 0.0001235. Zero (either sign) gives +0; NaN and infinities are returned unchanged.
    /// </summary>
    public static double Round4(double value)
    {
        if (value == 0) return 0;
        if (!double.IsFinite(value)) return value;
        // The shortest round-trip digits, which are what "the decimal representation" means here.
        string shortest = value.ToString("R", CultureInfo.InvariantCulture);
        (bool negative, string digits, int exponent) = Decompose(shortest);
        if (digits.Length <= SignificantDigits) return value;

        var kept = new StringBuilder(digits[..SignificantDigits]);
        int next = digits[SignificantDigits] - '0';
        bool restNonZero = digits.AsSpan(SignificantDigits + 1).IndexOfAnyExcept('0') >= 0;
        bool lastOdd = (kept[SignificantDigits - 1] - '0') % 2 == 1;
        bool up = next > 5 || (next == 5 && (restNonZero || lastOdd));
        if (up && Increment(kept)) exponent++;
        // kept has SignificantDigits (or SignificantDigits + 1 after a carry: "10000") digits; value = 0.kept × 10^exponent.
        string composed = (negative ? "-" : "") + "0." + kept + "E" + exponent.ToString(CultureInfo.InvariantCulture);
        return double.Parse(composed, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The JSON text of a statistic: <see cref="Round4"/>, then the shortest round-trip form with a lower-case exponent
    /// (<c>1234</c>, <c>0.01235</c>, <c>1.235e-07</c>). Throws <see cref="OptimizerException"/>
    /// (<see cref="ErrorCodes.ManifestValueNotFinite"/>) for NaN and infinities, which JSON cannot hold.
    /// </summary>
    public static string Format(double value, string what)
    {
        if (!double.IsFinite(value))
            throw new OptimizerException(ErrorCodes.ManifestValueNotFinite,
                $"The manifest value '{what}' is {value.ToString(CultureInfo.InvariantCulture)}; the model produced non-finite activations or weights.");
        return FormatExact(Round4(value));
    }

    /// <summary>The shortest round-trip text of a finite double as JSON (no rounding; used for configuration values).</summary>
    public static string FormatExact(double value)
    {
        if (!double.IsFinite(value))
            throw new OptimizerException(ErrorCodes.ManifestValueNotFinite, $"A manifest value is {value.ToString(CultureInfo.InvariantCulture)}.");
        if (value == 0) return "0";
        return value.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e');
    }

    /// <summary>Sign, significant digits (no leading or trailing zeros) and exponent e with |value| = 0.digits × 10^e.</summary>
    private static (bool Negative, string Digits, int Exponent) Decompose(string text)
    {
        bool negative = text.StartsWith('-');
        if (negative) text = text[1..];
        int exponent = 0;
        int e = text.IndexOfAny(new[] { 'E', 'e' });
        if (e >= 0)
        {
            exponent = int.Parse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            text = text[..e];
        }
        int point = text.IndexOf('.');
        string mantissa = point < 0 ? text : text.Remove(point, 1);
        int integerDigits = point < 0 ? text.Length : point;
        int leading = 0;
        while (leading < mantissa.Length - 1 && mantissa[leading] == '0') leading++;
        string digits = mantissa[leading..].TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        return (negative, digits, exponent + integerDigits - leading);
    }

    /// <summary>Adds one unit in the last place; true when the carry added a digit in front ("9999" → "10000").</summary>
    private static bool Increment(StringBuilder digits)
    {
        for (int i = digits.Length - 1; i >= 0; i--)
        {
            if (digits[i] == '9')
            {
                digits[i] = '0';
                continue;
            }
            digits[i]++;
            return false;
        }
        digits.Insert(0, '1');
        digits.Length = SignificantDigits;
        return true;
    }
}
