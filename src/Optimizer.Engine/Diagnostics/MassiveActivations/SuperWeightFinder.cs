using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics.MassiveActivations;

/// <summary>
/// Finds super weights: for an MA born at y8 (residual channel j, token t, layer ℓ) and each birth MA at y6 of the same
/// token and layer (neuron k), the contribution down_proj[j, k]·y6[t, k] to y7[t, j]; entries whose share of y7[t, j]
/// is at least <see cref="MassiveActivationOptions.SuperWeightMinShare"/> are super weights. The same (layer, j, k) on
/// several tokens is reported once, with the values of the first token.
/// </summary>
internal static class SuperWeightFinder
{
    public static IReadOnlyList<SuperWeight> Find(DetectionInput input, IReadOnlyList<RawActivation> mas, MassiveActivationKind[] kinds,
        IReadOnlyList<ResidualBirth> births)
    {
        var y6 = new Dictionary<(int, long), List<ActivationEntry>>();
        for (int i = 0; i < mas.Count; i++)
        {
            var e = mas[i].Entry;
            if (e.Site != ProbeSite.Y6 || kinds[i] != MassiveActivationKind.Birth) continue;
            if (!y6.TryGetValue((e.Layer, e.TokenIndex), out var list)) y6[(e.Layer, e.TokenIndex)] = list = new List<ActivationEntry>();
            list.Add(e);
        }
        var found = new SortedDictionary<(int, int, int), SuperWeight>();
        var downCache = new Dictionary<int, float[]>();
        var config = input.Model.Config;
        foreach (var birth in births.Where(b => b.Site == ProbeSite.Y8).OrderBy(b => b.TokenIndex))
        {
            if (!y6.TryGetValue((birth.Layer, birth.TokenIndex), out var neurons)) continue;
            double? y7 = input.Lookup(birth.Layer, ProbeSite.Y7, birth.TokenIndex, birth.Channel);
            if (y7 is not double total || total == 0) continue;
            string name = LlamaTensorNames.Name(TensorRole.Down, birth.Layer);
            if (!downCache.TryGetValue(birth.Layer, out var down))
            {
                var info = input.Model.Weights.Find(name)
                    ?? throw new OptimizerException(ErrorCodes.TensorMissing, $"The weights have no tensor '{name}'.", input.Model.Path);
                downCache[birth.Layer] = down = TensorData.ReadFloat32(input.Model.Weights, info);
            }
            foreach (var n in neurons)
            {
                var key = (birth.Layer, birth.Channel, n.Channel);
                if (found.ContainsKey(key)) continue;
                double weight = down[(long)birth.Channel * config.IntermediateSize + n.Channel];
                double contribution = weight * n.Value;
                double share = contribution / total;
                if (share >= input.Options.SuperWeightMinShare)
                    found[key] = new SuperWeight(birth.Layer, name, birth.Channel, n.Channel, weight, n.Value, contribution, share);
            }
        }
        return found.Values.ToList();
    }
}
