using Optimizer.Engine.Formats;

namespace Optimizer.Fixtures;

/// <summary>
/// Generates a <see cref="SyntheticModel"/>: base weights, γ and OTC plants, the BOS-direction preparation of the
/// massive activation, rounding to the storage type, then the MA calibration on the rounded weights and the ground truth.
/// </summary>
internal static class SyntheticModelGenerator
{
    public static SyntheticModel Generate(SyntheticModelOptions options)
    {
        options.Validate();
        var weights = BaseWeightGenerator.Generate(options);
        foreach (var plant in options.GammaOutliers) GammaOutlierPlanter.Apply(weights, plant);
        foreach (var plant in options.QueryOutliers) QueryOutlierPlanter.Apply(weights, plant);
        var massive = options.MassiveActivation;
        double[]? direction = massive is null ? null : MassiveActivationPlanter.Prepare(weights, massive);
        foreach (var (_, data, _) in weights.Tensors()) WeightPrecision.Round(data, options.WeightDType);
        MassiveActivationTruth? maTruth = massive is null ? null : MassiveActivationPlanter.Calibrate(weights, massive, direction!);

        var truth = new SyntheticGroundTruth(
            SyntheticGroundTruth.SchemaName,
            Summary(options),
            maTruth,
            options.GammaOutliers.Select(p => GammaOutlierPlanter.Describe(weights, p)).ToArray(),
            options.QueryOutliers.Select(p => QueryOutlierPlanter.Describe(weights, p)).ToArray());

        var tensors = weights.Tensors()
            .Select(t => new SyntheticTensor(t.Name, options.WeightDType, t.Shape, ToSingles(t.Data)))
            .ToArray();
        return new SyntheticModel(options, options.ToModelConfig(), tensors, truth);
    }

    private static SyntheticModelSummary Summary(SyntheticModelOptions o) => new(
        o.Architecture == SyntheticArchitecture.Qwen2 ? "qwen2" : "llama",
        o.HiddenSize, o.Layers, o.Heads, o.KeyValueHeads, o.HeadDim, o.IntermediateSize,
        SyntheticModelOptions.VocabSize, ByteLevelVocabulary.BosId, DTypes.SafetensorsName(o.WeightDType),
        o.TieWordEmbeddings, o.RmsNormEps, o.RopeTheta, o.Seed);

    private static float[] ToSingles(double[] data)
    {
        var values = new float[data.Length];
        for (int i = 0; i < data.Length; i++) values[i] = (float)data[i];
        return values;
    }
}
