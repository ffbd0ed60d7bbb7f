using Optimizer.Engine.Model;

namespace Optimizer.Fixtures;

/// <summary>Plants γ outlier channels (<see cref="GammaOutlierPlant"/>) and describes them from the stored weights.</summary>
internal static class GammaOutlierPlanter
{
    /// <summary>Sets |γ_c| = scale × median|γ| (sign kept) and, if asked, divides the consumer columns by the same factor.</summary>
    public static void Apply(SyntheticWeights w, GammaOutlierPlant plant)
    {
        var o = w.Options;
        var layer = w.Layers[plant.Layer];
        var gamma = layer.Norm(plant.Norm);
        double median = BosForward.MedianAbs(gamma);
        foreach (int c in plant.Channels)
        {
            double target = Math.CopySign(plant.Scale * median, gamma[c]);
            double factor = target / gamma[c];
            gamma[c] = target;
            if (!plant.CompensateConsumers) continue;
            foreach (var consumer in Consumers(layer, plant.Norm))
            {
                int rows = consumer.Length / o.HiddenSize;
                for (int r = 0; r < rows; r++) consumer[r * o.HiddenSize + c] /= factor;
            }
        }
    }

    /// <summary>The ground truth of <paramref name="plant"/> measured on the final (stored) weights.</summary>
    public static GammaOutlierTruth Describe(SyntheticWeights w, GammaOutlierPlant plant)
    {
        var gamma = w.Layers[plant.Layer].Norm(plant.Norm);
        double median = BosForward.MedianAbs(gamma);
        var channels = plant.Channels.OrderBy(c => c).ToArray();
        bool attention = plant.Norm == PlantedNorm.Attention;
        string prefix = $"model.layers.{plant.Layer}.";
        string[] consumers = !plant.CompensateConsumers
            ? Array.Empty<string>()
            : attention
                ? new[] { prefix + "self_attn.q_proj.weight", prefix + "self_attn.k_proj.weight", prefix + "self_attn.v_proj.weight" }
                : new[] { prefix + "mlp.gate_proj.weight", prefix + "mlp.up_proj.weight" };
        return new GammaOutlierTruth(
            plant.Layer,
            attention ? "input_layernorm" : "post_attention_layernorm",
            prefix + (attention ? "input_layernorm.weight" : "post_attention_layernorm.weight"),
            attention ? ProbeSites.Id(ProbeSite.AttnY2) : ProbeSites.Id(ProbeSite.Y2),
            channels,
            channels.Select(c => gamma[c]).ToArray(),
            median,
            channels.Select(c => Math.Abs(gamma[c]) / median).ToArray(),
            plant.Scale,
            plant.CompensateConsumers,
            consumers);
    }

    private static double[][] Consumers(SyntheticLayerWeights layer, PlantedNorm norm) =>
        norm == PlantedNorm.Attention ? new[] { layer.Q, layer.K, layer.V } : new[] { layer.Gate, layer.Up };
}
