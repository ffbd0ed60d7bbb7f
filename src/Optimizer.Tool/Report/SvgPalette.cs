namespace Optimizer.Tool.Report;

/// <summary>The report's colors (one place, so that charts, legends and tables agree). Chosen to stay distinguishable
/// for the common forms of color blindness.</summary>
public static class SvgPalette
{
    public const string Ink = "#1f2933";
    public const string Muted = "#616e7c";
    public const string Grid = "#e4e7eb";
    public const string GridMinor = "#f2f4f7";
    public const string Axis = "#9aa5b1";

    public const string ResidualAttnIn = "#4e79a7";
    public const string ResidualMid = "#76b7b2";
    public const string ResidualOut = "#59a14f";
    public const string Y6 = "#e15759";
    public const string Threshold = "#b07aa1";

    public const string PreGamma = "#9aa5b1";
    public const string PostGamma = "#4e79a7";
    public const string Gamma = "#f28e2b";
    public const string Outlier = "#d62728";
}
