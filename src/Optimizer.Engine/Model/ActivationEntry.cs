namespace Optimizer.Engine.Model;

/// <summary>
/// One activation value: where it is (layer, site, global token index in the calibration stream, position inside its
/// sequence, token id, channel) and its signed value.
/// </summary>
public readonly record struct ActivationEntry(int Layer, ProbeSite Site, long TokenIndex, int Position, long TokenId, int Channel, float Value)
{
    /// <summary>|Value|.</summary>
    public float Magnitude => MathF.Abs(Value);

    /// <summary>Order: larger |value| first, then smaller token index, then smaller channel (deterministic).</summary>
    public static int CompareByMagnitude(ActivationEntry a, ActivationEntry b)
    {
        int c = b.Magnitude.CompareTo(a.Magnitude);
        if (c != 0) return c;
        c = a.TokenIndex.CompareTo(b.TokenIndex);
        return c != 0 ? c : a.Channel.CompareTo(b.Channel);
    }
}
