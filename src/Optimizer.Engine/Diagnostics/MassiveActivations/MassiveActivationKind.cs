namespace Optimizer.Engine.Diagnostics.MassiveActivations;

/// <summary>How an MA occurrence arose (docs/manifest.md, findings.massive_activations.kind).</summary>
public enum MassiveActivationKind
{
    /// <summary><c>birth</c>: the first layer and site where the MA family appears, and the sites of that layer through which it enters the residual stream.</summary>
    Birth,

    /// <summary><c>tma</c>: created inside a block (not carried in by the residual) after, or apart from, the birth.</summary>
    Tma,

    /// <summary><c>propagated</c>: at a residual site, carried in by the residual connection.</summary>
    Propagated,
}

/// <summary>Manifest ids of <see cref="MassiveActivationKind"/>.</summary>
public static class MassiveActivationKinds
{
    /// <summary><c>birth</c>, <c>tma</c> or <c>propagated</c>.</summary>
    public static string Id(MassiveActivationKind kind) => kind switch
    {
        MassiveActivationKind.Birth => "birth",
        MassiveActivationKind.Tma => "tma",
        _ => "propagated",
    };
}
