namespace Optimizer.Engine.Calibration;

/// <summary>Where calibration tokens came from.</summary>
public enum CalibrationSourceKind
{
    /// <summary>Text files given by the user (manifest id <c>text</c>).</summary>
    Text,

    /// <summary>Text sampled from the model itself with a fixed seed (manifest id <c>self-sampled</c>).</summary>
    SelfSampled,
}
