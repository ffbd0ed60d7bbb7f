namespace Optimizer.Engine.Transforms;

/// <summary>How γ flattening chooses the new norm scale γ' (PAPER-NOTES M2 step 1); the consumers absorb γ/γ'.</summary>
public enum GammaTargetMode
{
    /// <summary><c>outliers</c> (default): only γ-outlier channels (|γ_j| / median|γ| above the analysis' gamma ratio) become ±median|γ|, sign kept.</summary>
    Outliers,

    /// <summary><c>clip</c>: range compression, |γ'| = clip(|γ|, m/c, m·c) with m = median|γ|, sign kept.</summary>
    Clip,

    /// <summary><c>interp</c>: |γ'_j| = |γ_j|^(1−β) · m^β, sign kept.</summary>
    Interp,

    /// <summary><c>full</c>: γ' = 1 (the whole γ is folded into the consumers, as QuaRot does).</summary>
    Full,
}

/// <summary>Ids of <see cref="GammaTargetMode"/>.</summary>
public static class GammaTargetModes
{
    /// <summary><c>outliers</c>, <c>clip</c>, <c>interp</c> or <c>full</c>.</summary>
    public static string Id(GammaTargetMode mode) => mode switch
    {
        GammaTargetMode.Outliers => "outliers",
        GammaTargetMode.Clip => "clip",
        GammaTargetMode.Interp => "interp",
        GammaTargetMode.Full => "full",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown γ target mode."),
    };
}
