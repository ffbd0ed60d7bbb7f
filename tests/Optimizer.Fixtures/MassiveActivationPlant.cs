namespace Optimizer.Fixtures;

/// <summary>
/// Plants a massive activation born by a super weight: in decoder layer <see cref="Layer"/>, FFN neuron
/// <see cref="Neuron"/> fires only for the BOS token (y6[k] = <see cref="SuperActivation"/>), and the super weight
/// <c>down_proj[Channel, Neuron]</c> routes it into residual channel <see cref="Channel"/>, so that the layer output
/// y8[j] of BOS equals <see cref="ResidualValue"/>. The value then rides the residual stream through every later layer.
/// </summary>
/// <param name="Layer">Birth layer L (0-based); an early layer is typical.</param>
/// <param name="Neuron">FFN neuron k (row of gate/up, column of down), 0 ≤ k &lt; intermediate size.</param>
/// <param name="Channel">Residual channel j (row of down), 0 ≤ j &lt; hidden size.</param>
public sealed record MassiveActivationPlant(int Layer, int Neuron, int Channel)
{
    /// <summary>Lowest accepted |<see cref="ResidualValue"/>|: well above the absolute MA threshold of 100.</summary>
    public const double MinResidualMagnitude = 150;

    /// <summary>Highest accepted |<see cref="ResidualValue"/>|.</summary>
    public const double MaxResidualMagnitude = 100_000;

    /// <summary>Lowest accepted <see cref="SuperActivation"/>.</summary>
    public const double MinSuperActivation = 150;

    /// <summary>Highest accepted <see cref="SuperActivation"/>: keeps gate and up outputs (√ of it) below 100.</summary>
    public const double MaxSuperActivation = 8000;

    /// <summary>The signed value of y8[j] on the BOS token at the birth layer (default 2000).</summary>
    public double ResidualValue { get; init; } = 2000;

    /// <summary>The value of y6[k] (down_proj input) on the BOS token at the birth layer (default 1000, positive).</summary>
    public double SuperActivation { get; init; } = 1000;

    internal void Validate(int layers, int hidden, int intermediate)
    {
        if (Layer < 0 || Layer >= layers)
            throw new ArgumentException($"Massive activation layer {Layer} is outside 0..{layers - 1}.", nameof(Layer));
        if (Neuron < 0 || Neuron >= intermediate)
            throw new ArgumentException($"Massive activation neuron {Neuron} is outside 0..{intermediate - 1}.", nameof(Neuron));
        if (Channel < 0 || Channel >= hidden)
            throw new ArgumentException($"Massive activation channel {Channel} is outside 0..{hidden - 1}.", nameof(Channel));
        double m = Math.Abs(ResidualValue);
        if (!(m >= MinResidualMagnitude && m <= MaxResidualMagnitude))
            throw new ArgumentException($"Massive activation value {ResidualValue} must have magnitude in {MinResidualMagnitude}..{MaxResidualMagnitude}.", nameof(ResidualValue));
        if (!(SuperActivation >= MinSuperActivation && SuperActivation <= MaxSuperActivation))
            throw new ArgumentException($"Super activation {SuperActivation} must be in {MinSuperActivation}..{MaxSuperActivation}.", nameof(SuperActivation));
    }
}
