namespace Optimizer.Fixtures;

/// <summary>
/// Ground truth of a planted massive activation: where it is born (layer, neuron, channel, super weight), the values
/// on the way (gate/up outputs of the neuron, y6, y7, y8) and every site that carries it afterwards.
/// </summary>
/// <param name="BirthLayer">Layer L where y6[k] first becomes massive.</param>
/// <param name="TokenPosition">Always 0 (the first token).</param>
/// <param name="TokenId">The BOS id (256).</param>
/// <param name="Neuron">FFN neuron k.</param>
/// <param name="Channel">Residual channel j.</param>
/// <param name="SuperWeight">The down_proj entry [j, k].</param>
/// <param name="GateValue">y3[k] on BOS at the birth layer.</param>
/// <param name="UpValue">y4[k] on BOS at the birth layer.</param>
/// <param name="Sites">Every site that carries the MA, birth sites first, then per later layer attn.y1, y1, y8.</param>
/// <param name="Propagation">For y8, attn.y1 and y1: the layers where the site meets the MA criterion.</param>
public sealed record MassiveActivationTruth(
    int BirthLayer,
    int TokenPosition,
    int TokenId,
    int Neuron,
    int Channel,
    SuperWeightTruth SuperWeight,
    double GateValue,
    double UpValue,
    IReadOnlyList<MassiveActivationSite> Sites,
    IReadOnlyList<PropagationRange> Propagation);
