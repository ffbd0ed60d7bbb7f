namespace Optimizer.Fixtures;

/// <summary>One decoder layer's weights (float64, Hugging Face layout).</summary>
internal sealed class SyntheticLayerWeights
{
    public SyntheticLayerWeights(SyntheticModelOptions o)
    {
        int d = o.HiddenSize, q = o.Heads * o.HeadDim, kv = o.KeyValueHeads * o.HeadDim, f = o.IntermediateSize;
        AttnNorm = new double[d];
        Q = new double[q * d];
        K = new double[kv * d];
        V = new double[kv * d];
        O = new double[d * q];
        bool bias = o.Architecture == SyntheticArchitecture.Qwen2;
        QBias = bias ? new double[q] : null;
        KBias = bias ? new double[kv] : null;
        VBias = bias ? new double[kv] : null;
        bool qkNorm = o.Architecture == SyntheticArchitecture.Qwen3;
        QNorm = qkNorm ? new double[o.HeadDim] : null;
        KNorm = qkNorm ? new double[o.HeadDim] : null;
        FfnNorm = new double[d];
        Gate = new double[f * d];
        Up = new double[f * d];
        Down = new double[d * f];
    }

    public double[] AttnNorm { get; }
    public double[] Q { get; }
    public double[] K { get; }
    public double[] V { get; }
    public double[] O { get; }
    public double[]? QBias { get; }
    public double[]? KBias { get; }
    public double[]? VBias { get; }
    public double[]? QNorm { get; }
    public double[]? KNorm { get; }
    public double[] FfnNorm { get; }
    public double[] Gate { get; }
    public double[] Up { get; }
    public double[] Down { get; }

    /// <summary>The norm weight γ of <paramref name="norm"/>.</summary>
    public double[] Norm(PlantedNorm norm) => norm == PlantedNorm.Attention ? AttnNorm : FfnNorm;
}
