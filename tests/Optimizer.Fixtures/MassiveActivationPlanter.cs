using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;

namespace Optimizer.Fixtures;

/// <summary>
/// Plants a massive activation born by a super weight (<see cref="MassiveActivationPlant"/>) in two steps.
/// <para><see cref="Prepare"/> (before rounding): draws a random unit direction u, makes the BOS embedding √d·u,
/// removes the u component from every other token embedding and from every residual write (the outputs of o_proj in
/// layers 0..L and of down_proj in layers 0..L−1). Up to layer L's FFN the residual of a non-BOS token has no u
/// component at all (up to storage rounding), while the BOS residual is dominated by it.</para>
/// <para><see cref="Calibrate"/> (after rounding): aligns gate and up row k of layer L with u/γ so that both give
/// z on BOS with z·SiLU(z) = the requested super activation and about 0 on every other token; sets down_proj column k
/// to tiny noise except the super weight [j, k], solved so that y8[j] of BOS equals the requested value; and records,
/// from an exact float64 forward of the stored weights, every site that carries the MA.</para>
/// </summary>
internal static class MassiveActivationPlanter
{
    private const int DirectionStream = 100;
    private const int ColumnNoiseStream = 101;

    /// <summary>Size of |down[i, k]·y6[k]| for i ≠ j: the neuron's leak into other residual channels on BOS.</summary>
    private const double ColumnLeak = 0.02;

    /// <summary>Shapes embeddings and residual writes around the BOS direction; returns the direction u.</summary>
    public static double[] Prepare(SyntheticWeights w, MassiveActivationPlant plant)
    {
        var o = w.Options;
        int d = o.HiddenSize;
        var u = new double[d];
        BaseWeightGenerator.Stream(o.Seed, DirectionStream, 0).FillNormal(u, 1.0);
        double norm = Math.Sqrt(Dot(u, u));
        for (int i = 0; i < d; i++) u[i] /= norm;

        double scale = Math.Sqrt(d);
        for (int t = 0; t < SyntheticModelOptions.VocabSize; t++)
        {
            var row = w.Embedding.AsSpan(t * d, d);
            if (t == ByteLevelVocabulary.BosId)
            {
                for (int i = 0; i < d; i++) row[i] = scale * u[i];
            }
            else
            {
                double along = Dot(row, u);
                for (int i = 0; i < d; i++) row[i] -= along * u[i];
            }
        }
        for (int l = 0; l <= plant.Layer; l++)
        {
            RemoveOutputComponent(w.Layers[l].O, d, u);
            if (l < plant.Layer) RemoveOutputComponent(w.Layers[l].Down, d, u);
        }
        return u;
    }

    /// <summary>Sets the neuron and the super weight on the rounded weights and returns the measured ground truth.</summary>
    public static MassiveActivationTruth Calibrate(SyntheticWeights w, MassiveActivationPlant plant, double[] u)
    {
        var o = w.Options;
        int d = o.HiddenSize, f = o.IntermediateSize, k = plant.Neuron, j = plant.Channel, L = plant.Layer;
        var layer = w.Layers[L];

        var before = BosForward.Run(w, ByteLevelVocabulary.BosId);
        var y1 = before.FfnInput[L];
        double rms = BosForward.Rms(y1, o.RmsNormEps);
        double projection = Dot(y1, u) / rms; // u · x̂ of BOS, pre-γ
        if (!(projection > 0.05 * Math.Sqrt(d)))
            throw new InvalidOperationException(
                $"The BOS direction carries only {projection:G4} of the normalized BOS state at layer {L}; cannot plant the massive activation.");

        double z = SolveSiluProduct(plant.SuperActivation);
        double a = z / projection;
        for (int i = 0; i < d; i++)
        {
            double value = WeightPrecision.Round(a * u[i] / layer.FfnNorm[i], o.WeightDType);
            layer.Gate[k * d + i] = value;
            layer.Up[k * d + i] = value;
        }

        var withNeuron = BosForward.Run(w, ByteLevelVocabulary.BosId);
        var y6 = withNeuron.DownInput[L];
        double y6k = y6[k];
        var noise = BaseWeightGenerator.Stream(o.Seed, ColumnNoiseStream, 0);
        for (int i = 0; i < d; i++)
            layer.Down[i * f + k] = i == j ? 0.0 : WeightPrecision.Round(ColumnLeak / y6k * noise.NextNormal(), o.WeightDType);
        double rest = withNeuron.FfnInput[L][j];
        for (int i = 0; i < f; i++) rest += layer.Down[j * f + i] * y6[i];
        double superWeight = WeightPrecision.Round((plant.ResidualValue - rest) / y6k, o.WeightDType);
        layer.Down[j * f + k] = superWeight;

        var final = BosForward.Run(w, ByteLevelVocabulary.BosId);
        double secondLargest = 0;
        for (int i = 0; i < d; i++)
            if (i != j) secondLargest = Math.Max(secondLargest, Math.Abs(layer.Down[i * f + k]));
        var superTruth = new SuperWeightTruth(L, $"model.layers.{L}.mlp.down_proj.weight", j, k, superWeight,
            secondLargest > 0 ? Math.Abs(superWeight) / secondLargest : double.PositiveInfinity);

        var sites = new List<MassiveActivationSite>
        {
            Site(L, ProbeSites.Id(ProbeSite.Y6), k, final.DownInput[L], birth: true),
            Site(L, ProbeSites.Id(ProbeSite.Y7), j, final.DownOutput[L], birth: true),
            Site(L, ProbeSites.Id(ProbeSite.Y8), j, final.LayerOutput[L], birth: true),
        };
        for (int l = L + 1; l < o.Layers; l++)
        {
            sites.Add(Site(l, ProbeSites.Id(ProbeSite.AttnY1), j, final.AttnInput[l], birth: false));
            sites.Add(Site(l, ProbeSites.Id(ProbeSite.Y1), j, final.FfnInput[l], birth: false));
            sites.Add(Site(l, ProbeSites.Id(ProbeSite.Y8), j, final.LayerOutput[l], birth: false));
        }
        var propagation = new List<PropagationRange>();
        foreach (string site in new[] { ProbeSites.Id(ProbeSite.Y8), ProbeSites.Id(ProbeSite.AttnY1), ProbeSites.Id(ProbeSite.Y1) })
            propagation.AddRange(Runs(sites.Where(s => s.Site == site), site, j));

        return new MassiveActivationTruth(L, 0, ByteLevelVocabulary.BosId, k, j, superTruth,
            final.Gate[L][k], final.Up[L][k], sites, propagation);
    }

    /// <summary>The z &gt; 0 with z·SiLU(z) = <paramref name="target"/> (monotonic for z &gt; 0), by bisection.</summary>
    internal static double SolveSiluProduct(double target)
    {
        double lo = 0, hi = 1;
        while (hi * DeterministicMath.Silu(hi) < target) hi *= 2;
        for (int i = 0; i < 200 && hi - lo > 1e-14 * hi; i++)
        {
            double mid = 0.5 * (lo + hi);
            if (mid * DeterministicMath.Silu(mid) < target) lo = mid; else hi = mid;
        }
        return 0.5 * (lo + hi);
    }

    private static MassiveActivationSite Site(int layer, string site, int index, double[] values, bool birth)
    {
        double value = values[index];
        double median = BosForward.MedianAbs(values);
        double ratio = median > 0 ? Math.Abs(value) / median : double.PositiveInfinity;
        return new MassiveActivationSite(layer, site, index, value, median, ratio,
            MassiveActivationSite.MeetsCriterion(value, median), birth);
    }

    private static IEnumerable<PropagationRange> Runs(IEnumerable<MassiveActivationSite> sites, string site, int index)
    {
        int first = -1, last = -1;
        foreach (var s in sites.OrderBy(s => s.Layer))
        {
            if (s.IsMassive && first >= 0 && s.Layer == last + 1) { last = s.Layer; continue; }
            if (first >= 0) yield return new PropagationRange(site, index, first, last);
            first = last = -1;
            if (s.IsMassive) first = last = s.Layer;
        }
        if (first >= 0) yield return new PropagationRange(site, index, first, last);
    }

    /// <summary>W ← (I − u uᵀ) W for a row-major [rows = hidden, cols] matrix: its outputs lose the u component.</summary>
    private static void RemoveOutputComponent(double[] weight, int rows, double[] u)
    {
        int cols = weight.Length / rows;
        for (int c = 0; c < cols; c++)
        {
            double along = 0;
            for (int r = 0; r < rows; r++) along += u[r] * weight[r * cols + c];
            for (int r = 0; r < rows; r++) weight[r * cols + c] -= along * u[r];
        }
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }
}
