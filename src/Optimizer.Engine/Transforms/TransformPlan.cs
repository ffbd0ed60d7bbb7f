using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// A complete transform plan: per decoder layer, the diagonal rescalings and clamps to apply (see
/// <see cref="LayerTransform"/>), and one <see cref="TransformRecord"/> per requested mitigation for the manifest.
/// Built by <see cref="TransformPlanner.Plan"/>; applied lazily by <see cref="TransformedWeights"/>. Immutable.
/// </summary>
public sealed class TransformPlan
{
    internal TransformPlan(ModelConfig config, TransformOptions options, IReadOnlyList<LayerTransform> layers, IReadOnlyList<TransformRecord> records)
    {
        HiddenSize = config.HiddenSize;
        IntermediateSize = config.IntermediateSize;
        HeadDim = config.HeadDim;
        AttentionHeads = config.NumAttentionHeads;
        KeyValueHeads = config.KeyValueHeads;
        Options = options;
        Layers = layers;
        Records = records;
    }

    /// <summary>The options the plan was made with.</summary>
    public TransformOptions Options { get; }

    /// <summary>One entry per decoder layer, in order.</summary>
    public IReadOnlyList<LayerTransform> Layers { get; }

    /// <summary>One record per requested mitigation, in <see cref="Mitigations.Ordered"/> order.</summary>
    public IReadOnlyList<TransformRecord> Records { get; }

    /// <summary>Whether any layer changes.</summary>
    public bool IsIdentity => Layers.All(l => l.IsIdentity);

    /// <summary>Whether every planned change is exact (no clamp factor is set).</summary>
    public bool IsExact => Layers.All(l => l.Clamp is null);

    internal int HiddenSize { get; }
    internal int IntermediateSize { get; }
    internal int HeadDim { get; }
    internal int AttentionHeads { get; }
    internal int KeyValueHeads { get; }

    /// <summary>Throws <see cref="ErrorCodes.TransformPlanMismatch"/> when the plan was made for a model of another shape.</summary>
    public void CheckFits(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.NumHiddenLayers != Layers.Count || config.HiddenSize != HiddenSize || config.IntermediateSize != IntermediateSize
            || config.HeadDim != HeadDim || config.NumAttentionHeads != AttentionHeads || config.KeyValueHeads != KeyValueHeads)
            throw new OptimizerException(ErrorCodes.TransformPlanMismatch,
                $"The transform plan is for {Layers.Count} layers, hidden {HiddenSize}, intermediate {IntermediateSize}, {AttentionHeads}/{KeyValueHeads} heads of {HeadDim}; " +
                $"the model has {config.NumHiddenLayers} layers, hidden {config.HiddenSize}, intermediate {config.IntermediateSize}, " +
                $"{config.NumAttentionHeads}/{config.KeyValueHeads} heads of {config.HeadDim}.");
    }
}
