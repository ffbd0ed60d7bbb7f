using Optimizer.Engine.Model;

namespace Optimizer.Fixtures;

/// <summary>Plants OTCs in W_q (<see cref="QueryOutlierPlant"/>) and describes them.</summary>
internal static class QueryOutlierPlanter
{
    /// <summary>Multiplies the planted rows (and their bias entries) or input columns of q_proj by the scale.</summary>
    public static void Apply(SyntheticWeights w, QueryOutlierPlant plant)
    {
        var o = w.Options;
        var layer = w.Layers[plant.Layer];
        int d = o.HiddenSize;
        if (plant.Reading == QueryOutlierReading.OutputRows)
        {
            foreach (int r in plant.ScaledRows(o.HeadDim))
            {
                for (int c = 0; c < d; c++) layer.Q[r * d + c] *= plant.Scale;
                if (layer.QBias is not null) layer.QBias[r] *= plant.Scale;
            }
        }
        else
        {
            int rows = o.Heads * o.HeadDim;
            foreach (int c in plant.Indices)
            {
                for (int r = 0; r < rows; r++) layer.Q[r * d + c] *= plant.Scale;
            }
        }
    }

    /// <summary>The ground truth of <paramref name="plant"/>.</summary>
    public static QueryOutlierTruth Describe(SyntheticWeights w, QueryOutlierPlant plant)
    {
        bool rows = plant.Reading == QueryOutlierReading.OutputRows;
        return new QueryOutlierTruth(
            plant.Layer,
            rows ? "rows" : "columns",
            $"model.layers.{plant.Layer}.self_attn.q_proj.weight",
            ProbeSites.Id(ProbeSite.AttnQ),
            rows ? plant.Head : -1,
            rows ? plant.Indices.OrderBy(i => i).ToArray() : Array.Empty<int>(),
            plant.ScaledRows(w.Options.HeadDim).ToArray(),
            rows ? Array.Empty<int>() : plant.Indices.OrderBy(i => i).ToArray(),
            plant.Scale,
            rows && w.Layers[plant.Layer].QBias is not null);
    }
}
