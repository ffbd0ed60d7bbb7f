using System.Globalization;

namespace Optimizer.Engine.Pipeline;

/// <summary>
/// Memory sizes such as <c>--max-memory</c> takes: a number with an optional unit, <c>B</c>, <c>K</c>/<c>KB</c>/<c>KiB</c>,
/// <c>M</c>/<c>MB</c>/<c>MiB</c>, <c>G</c>/<c>GB</c>/<c>GiB</c>, <c>T</c>/<c>TB</c>/<c>TiB</c> (all binary: 1 K = 1024 bytes).
/// </summary>
public static class ByteSize
{
    private static readonly (string Suffix, long Factor)[] Units =
    {
        ("TIB", 1L << 40), ("TB", 1L << 40), ("T", 1L << 40),
        ("GIB", 1L << 30), ("GB", 1L << 30), ("G", 1L << 30),
        ("MIB", 1L << 20), ("MB", 1L << 20), ("M", 1L << 20),
        ("KIB", 1L << 10), ("KB", 1L << 10), ("K", 1L << 10),
        ("B", 1),
    };

    /// <summary>Parses a positive size into bytes; false for anything else (zero, negative, unknown unit, overflow).</summary>
    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text)) return false;
        string t = text.Trim().ToUpperInvariant();
        long factor = 1;
        foreach (var (suffix, f) in Units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal))
            {
                factor = f;
                t = t[..^suffix.Length].TrimEnd();
                break;
            }
        }
        if (!double.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value)) return false;
        double total = value * factor;
        if (!double.IsFinite(total) || total < 1 || total >= long.MaxValue) return false;
        bytes = (long)Math.Floor(total);
        return true;
    }

    /// <summary>Bytes in binary units with one decimal (<c>1.5 GiB</c>), plain bytes below 1 KiB.</summary>
    public static string Format(long bytes)
    {
        string[] names = { "B", "KiB", "MiB", "GiB", "TiB" };
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < names.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? bytes.ToString(CultureInfo.InvariantCulture) + " B" : value.ToString("0.0", CultureInfo.InvariantCulture) + " " + names[unit];
    }
}
