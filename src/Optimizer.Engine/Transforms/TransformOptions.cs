using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// Which mitigations a plan contains and every parameter they use (each is recorded in the transform records).
/// Defaults: all mitigations, γ target <c>outliers</c>, SmoothQuant α searched per group and layer on 0, 0.05 … 0.95
/// (docs/smoothing.md) over a sample of at most 512 calibration tokens, OTC scope <c>flagged</c>, TMA target the 0.99
/// quantile of the other y6 channels' max |x| (at most half the site's MA magnitude threshold), clamp τ 0.9 × that
/// threshold, birth sites never clamped.
/// </summary>
public sealed record TransformOptions
{
    /// <summary>The mitigations to plan (default <see cref="Mitigation.All"/>).</summary>
    public Mitigation Mitigations { get; init; } = Mitigation.All;

    /// <summary>γ target mode (default <see cref="GammaTargetMode.Outliers"/>).</summary>
    public GammaTargetMode GammaMode { get; init; } = GammaTargetMode.Outliers;

    /// <summary><see cref="GammaTargetMode.Clip"/>: |γ'| is kept within [m/c, m·c] (default 4; must exceed 1).</summary>
    public double GammaClipFactor { get; init; } = 4;

    /// <summary><see cref="GammaTargetMode.Interp"/>: β in [0, 1] (default 0.5; 1 flattens completely to ±m).</summary>
    public double GammaInterpolation { get; init; } = 0.5;

    /// <summary>
    /// SmoothQuant migration strength α in [0, 1] for every group, or null (default) to search it per group and layer on
    /// <see cref="SmoothQuantAlphaGrid"/> (docs/smoothing.md). α = 0 leaves a group untouched.
    /// </summary>
    public double? SmoothQuantAlpha { get; init; }

    /// <summary>
    /// The default α grid: 0, 0.05, …, 0.95 (k / 20). α = 1 is left out: it scales every channel's calibration maximum
    /// to exactly 1, so the largest entries of a site tie and their order would follow the last float bit (docs/smoothing.md).
    /// </summary>
    public static IReadOnlyList<double> DefaultAlphaGrid { get; } = Enumerable.Range(0, 20).Select(k => k / 20.0).ToArray();

    /// <summary>The α values searched when <see cref="SmoothQuantAlpha"/> is null: ascending, each in [0, 1] (default <see cref="DefaultAlphaGrid"/>).</summary>
    public IReadOnlyList<double> SmoothQuantAlphaGrid { get; init; } = DefaultAlphaGrid;

    /// <summary>
    /// Calibration tokens (rows per linear input) the scale searches measure their error on, 1 … 65536 (default 512):
    /// every ⌈tokens / this⌉-th calibration token (docs/smoothing.md).
    /// </summary>
    public int SampleTokens { get; init; } = 512;

    /// <summary>The smallest SmoothQuant scale (default 1e-5, as SmoothQuant clamps).</summary>
    public double SmoothQuantMinScale { get; init; } = 1e-5;

    /// <summary>OTC balancing scope (default <see cref="OtcScope.Flagged"/>).</summary>
    public OtcScope OtcScope { get; init; } = OtcScope.Flagged;

    /// <summary>
    /// TMA smoothing target: this quantile (0, 1] of the per-channel max |y6| over the channels that carry no MA
    /// (default 0.99) ...
    /// </summary>
    public double TmaTargetQuantile { get; init; } = 0.99;

    /// <summary>... capped at this fraction (0, 1) of the site's MA magnitude threshold (default 0.5), so the smoothed channel is no MA.</summary>
    public double TmaThresholdFraction { get; init; } = 0.5;

    /// <summary>Clamp τ as an absolute |y6| bound; null (default) uses <see cref="ClampThresholdFraction"/>.</summary>
    public double? ClampTau { get; init; }

    /// <summary>Clamp τ as a fraction (0, 1] of the y6 site's MA magnitude threshold when <see cref="ClampTau"/> is null (default 0.9).</summary>
    public double ClampThresholdFraction { get; init; } = 0.9;

    /// <summary>Whether the clamp may touch the y6 neurons of a layer where an MA is born (default false: never).</summary>
    public bool ClampBirthSite { get; init; }

    /// <summary>
    /// <c>awq</c>: the weight-only round trip whose output error the activation-aware scales minimise (the GGUF recipe's
    /// types); null when awq is not planned.
    /// </summary>
    public Quantization.IWeightRoundTrip? WeightTarget { get; init; }

    /// <summary><c>awq</c>: the grid of exponents α for s = mean|x|^α (default 0.1 … 1 by 0.1; 0, no scaling, is always a candidate).</summary>
    public IReadOnlyList<double> AwqAlphaGrid { get; init; } = Enumerable.Range(1, 10).Select(i => i / 10.0).ToArray();

    /// <summary>
    /// Whether a mitigation that is not exact on the model's architecture is skipped with its reason recorded (true: the
    /// default <c>all</c>) or refused (false: a list that names it); see <see cref="ArchitectureSupport"/>.
    /// </summary>
    public bool SkipUnsupported { get; init; }

    /// <summary>Default parameters with the mitigations of <paramref name="mitigations"/> (see <see cref="Transforms.Mitigations.Parse"/>).</summary>
    public static TransformOptions Parse(string mitigations) => new() { Mitigations = Transforms.Mitigations.Parse(mitigations) };

    /// <summary>The canonical mitigation list, e.g. <c>norm,otc,tma</c> or <c>none</c>.</summary>
    public string MitigationList => Transforms.Mitigations.ToList(Mitigations);

    /// <summary>Whether <paramref name="mitigation"/> is enabled.</summary>
    public bool Has(Mitigation mitigation) => (Mitigations & mitigation) == mitigation;

    /// <summary>Checks every value; throws <see cref="OptimizerException"/> (<see cref="ErrorCodes.TransformOptionInvalid"/>).</summary>
    public void Validate()
    {
        if ((Mitigations & ~(Mitigation.All | Mitigation.Awq)) != 0) Fail($"Unknown mitigation flags {(int)Mitigations}.");
        if (Has(Mitigation.Awq) && Has(Mitigation.Smooth)) Fail("awq and smooth rescale the same input groups for different targets; plan one of them.");
        if (Has(Mitigation.Awq) && WeightTarget is null) Fail("awq needs the weight round trip it scales for (WeightTarget).");
        if (!Enum.IsDefined(GammaMode)) Fail($"Unknown γ target mode {(int)GammaMode}.");
        if (!Enum.IsDefined(OtcScope)) Fail($"Unknown OTC scope {(int)OtcScope}.");
        if (!(GammaClipFactor > 1) || double.IsInfinity(GammaClipFactor)) Fail($"The γ clip factor must be a number above 1, not {Text(GammaClipFactor)}.");
        UnitInterval(GammaInterpolation, "The γ interpolation β");
        if (SmoothQuantAlpha is double alpha) UnitInterval(alpha, "The SmoothQuant α");
        if (SmoothQuantAlphaGrid is null || SmoothQuantAlphaGrid.Count == 0) Fail("The SmoothQuant α grid is empty.");
        for (int k = 0; k < SmoothQuantAlphaGrid.Count; k++)
        {
            UnitInterval(SmoothQuantAlphaGrid[k], "Every α of the SmoothQuant grid");
            if (k > 0 && !(SmoothQuantAlphaGrid[k] > SmoothQuantAlphaGrid[k - 1])) Fail($"The SmoothQuant α grid must be strictly ascending; {Text(SmoothQuantAlphaGrid[k])} follows {Text(SmoothQuantAlphaGrid[k - 1])}.");
        }
        if (SampleTokens is < 1 or > 65536) Fail($"The sample of calibration tokens must hold 1 to 65536 tokens, not {SampleTokens}.");
        if (!(SmoothQuantMinScale > 0 && SmoothQuantMinScale <= 1)) Fail($"The smallest SmoothQuant scale must be in (0, 1], not {Text(SmoothQuantMinScale)}.");
        if (!(TmaTargetQuantile > 0 && TmaTargetQuantile <= 1)) Fail($"The TMA target quantile must be in (0, 1], not {Text(TmaTargetQuantile)}.");
        if (!(TmaThresholdFraction > 0 && TmaThresholdFraction < 1)) Fail($"The TMA threshold fraction must be in (0, 1), not {Text(TmaThresholdFraction)}.");
        if (ClampTau is double tau && (!(tau > 0) || double.IsInfinity(tau))) Fail($"The clamp τ must be a positive number, not {Text(tau)}.");
        if (!(ClampThresholdFraction > 0 && ClampThresholdFraction <= 1)) Fail($"The clamp threshold fraction must be in (0, 1], not {Text(ClampThresholdFraction)}.");
    }

    private static void UnitInterval(double value, string name)
    {
        if (!(value >= 0 && value <= 1)) Fail($"{name} must be in [0, 1], not {Text(value)}.");
    }

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    [DoesNotReturn]
    private static void Fail(string message) => throw new OptimizerException(ErrorCodes.TransformOptionInvalid, message);
}
