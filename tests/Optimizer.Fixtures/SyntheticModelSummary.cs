using System.Text.Json.Serialization;

namespace Optimizer.Fixtures;

/// <summary>The shape and storage of a synthetic model, as recorded in its ground truth.</summary>
public sealed record SyntheticModelSummary(
    string ModelType,
    int HiddenSize,
    int Layers,
    int Heads,
    int KeyValueHeads,
    int HeadDim,
    int IntermediateSize,
    int VocabSize,
    int BosTokenId,
    [property: JsonPropertyName("weight_dtype")] string WeightDType,
    bool TiedEmbeddings,
    double RmsNormEps,
    double RopeTheta,
    ulong Seed);
