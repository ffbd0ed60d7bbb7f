namespace Optimizer.Engine.Diagnostics.MassiveActivations;

/// <summary>A down_proj entry that routes a birth-site y6 value into an MA's residual channel (manifest <c>findings.super_weights</c>).</summary>
/// <param name="Layer">Birth layer.</param>
/// <param name="Tensor">HF tensor name (<c>model.layers.L.mlp.down_proj.weight</c>).</param>
/// <param name="Row">Residual channel j.</param>
/// <param name="Column">FFN neuron k.</param>
/// <param name="Weight">down_proj[j, k].</param>
/// <param name="Y6Value">y6[t, k] on the birth token.</param>
/// <param name="Contribution">Weight × y6 value.</param>
/// <param name="Share">Contribution / y7[t, j].</param>
public sealed record SuperWeight(int Layer, string Tensor, int Row, int Column, double Weight, double Y6Value, double Contribution, double Share);
