using System.Globalization;

namespace Optimizer.Engine.Pipeline;

/// <summary>
/// Percentages as the optimize options accept them: <c>2%</c> or <c>2</c> both mean two percent. Values are kept as
/// fractions (0.02) inside the engine.
/// </summary>
public static class PercentValue
{
    /// <summary>Parses a non-negative, finite percentage into a fraction; false for anything else.</summary>
    public static bool TryParse(string? text, out double fraction)
    {
        fraction = 0;
        if (string.IsNullOrWhiteSpace(text)) return false;
        string t = text.Trim();
        if (t.EndsWith('%')) t = t[..^1].TrimEnd();
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double percent)) return false;
        return FromPercent(percent, out fraction);
    }

    /// <summary>A number of percent (e.g. from JSON) as a fraction; false when negative or not finite.</summary>
    public static bool FromPercent(double percent, out double fraction)
    {
        fraction = percent / 100.0;
        return double.IsFinite(percent) && percent >= 0;
    }

    /// <summary>A fraction as a percentage for messages, e.g. <c>1.5%</c>.</summary>
    public static string Format(double fraction) =>
        (fraction * 100).ToString("0.###", CultureInfo.InvariantCulture) + "%";
}
