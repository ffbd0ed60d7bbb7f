namespace Optimizer.Engine.Diagnostics;

/// <summary>How massive activations are thresholded (manifest <c>options.ma.mode</c>).</summary>
public enum MassiveActivationMode
{
    /// <summary><c>absolute</c>: |x| &gt; the absolute threshold and ≥ the relative threshold × the token's median |x| (Sun et al.).</summary>
    Absolute,

    /// <summary>
    /// <c>scale-free</c>: |x| ≥ factor × the median over tokens of the per-token max |x| at that site, and ≥ the
    /// scale-free relative threshold × the token's median |x|; for small models whose MAs sit below 100.
    /// </summary>
    ScaleFree,
}
