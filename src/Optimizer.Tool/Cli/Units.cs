using System.Globalization;

namespace Optimizer.Tool.Cli;

/// <summary>Culture-independent formatting of sizes and counts for human output.</summary>
public static class Units
{
    private static readonly string[] ByteUnits = { "B", "KiB", "MiB", "GiB", "TiB" };

    /// <summary>Bytes with binary units and one decimal, e.g. <c>1.5 MiB</c>; plain bytes below 1 KiB.</summary>
    public static string Bytes(long bytes)
    {
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < ByteUnits.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0
            ? bytes.ToString(CultureInfo.InvariantCulture) + " B"
            : value.ToString("0.0", CultureInfo.InvariantCulture) + " " + ByteUnits[unit];
    }

    /// <summary>A count with thousands separators, e.g. <c>1,234,567</c>.</summary>
    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A count in short form, e.g. <c>1.24 M</c>, <c>135 K</c>, <c>7.24 B</c>; 3 significant digits.</summary>
    public static string ShortCount(long value)
    {
        (double scaled, string suffix) = value switch
        {
            >= 1_000_000_000_000 => (value / 1e12, " T"),
            >= 1_000_000_000 => (value / 1e9, " B"),
            >= 1_000_000 => (value / 1e6, " M"),
            >= 1_000 => (value / 1e3, " K"),
            _ => (value, ""),
        };
        return suffix.Length == 0 ? value.ToString(CultureInfo.InvariantCulture) : Significant(scaled, 3) + suffix;
    }

    /// <summary><paramref name="value"/> rounded to <paramref name="digits"/> significant digits, invariant culture.</summary>
    public static string Significant(double value, int digits)
    {
        if (double.IsNaN(value) || double.IsInfinity(value)) return value.ToString(CultureInfo.InvariantCulture);
        if (value == 0) return "0";
        int magnitude = (int)Math.Floor(Math.Log10(Math.Abs(value)));
        int decimals = Math.Max(0, digits - 1 - magnitude);
        double rounded = Math.Round(value, Math.Min(decimals, 15), MidpointRounding.AwayFromZero);
        // Rounding may carry into a new digit (9.9996 -> 10.000); recompute the decimals for the rounded value.
        if (rounded != 0)
        {
            int roundedMagnitude = (int)Math.Floor(Math.Log10(Math.Abs(rounded)));
            if (roundedMagnitude != magnitude) decimals = Math.Max(0, digits - 1 - roundedMagnitude);
        }
        if (magnitude >= digits + 6 || magnitude < -5)
            return value.ToString("G" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return rounded.ToString("F" + Math.Min(decimals, 15).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    /// <summary>A rate: thousands separators from 100 up (<c>1,803</c>), one decimal below (<c>42.5</c>).</summary>
    public static string Rate(double perSecond) =>
        perSecond >= 100 ? perSecond.ToString("N0", CultureInfo.InvariantCulture) : perSecond.ToString("0.0", CultureInfo.InvariantCulture);

    /// <summary>A double in its shortest round-trip form, invariant culture (e.g. <c>10000</c>, <c>1E-05</c>).</summary>
    public static string Exact(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
