using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics.MassiveActivations;

/// <summary>
/// Finds the massive activations among the examined extreme entries of every site (D2), classifies them, traces each
/// family (token position, token id, residual channel) to its birth, and derives propagation ranges, super weights and
/// near-threshold candidates.
/// </summary>
internal static class MassiveActivationDetector
{
    public static MassiveActivationReport Detect(DetectionInput input)
    {
        var options = input.Options;
        var mas = new List<RawActivation>();
        var near = new List<NearThresholdCandidate>();
        foreach (var site in input.Statistics.Sites)
        {
            var threshold = input.Thresholds[(site.Layer, site.Site)];
            ReadOnlySpan<float> medians = site.TokenMedianAbs;
            foreach (var e in input.Entries(site))
            {
                double magnitude = e.Magnitude;
                double ratio = SiteThresholds.Ratio(magnitude, medians[(int)e.TokenIndex]);
                bool passMagnitude = threshold.PassesMagnitude(magnitude), passRatio = threshold.PassesRatio(ratio);
                if (passMagnitude && passRatio)
                {
                    mas.Add(new RawActivation(e, ratio));
                }
                else if (magnitude >= options.NearThresholdFraction * threshold.Magnitude && magnitude > 0
                         && ratio >= options.NearThresholdFraction * threshold.Ratio)
                {
                    var criterion = passMagnitude ? NearThresholdCriterion.Relative
                        : passRatio ? NearThresholdCriterion.Absolute : NearThresholdCriterion.Both;
                    near.Add(new NearThresholdCandidate(e.Layer, e.Site, e.TokenIndex, e.Position, (int)e.TokenId,
                        Text(input, e.TokenId), e.Channel, e.Value, ratio, criterion));
                }
            }
        }
        mas.Sort((a, b) => CompareLocation(a.Entry, b.Entry));
        var (kinds, residualBirths) = MassiveActivationClassifier.Classify(mas);
        var superWeights = SuperWeightFinder.Find(input, mas, kinds, residualBirths);

        var occurrences = new List<MassiveActivation>(mas.Count);
        for (int i = 0; i < mas.Count; i++)
        {
            var e = mas[i].Entry;
            occurrences.Add(new MassiveActivation(e.Layer, e.Site, e.TokenIndex, e.Position, (int)e.TokenId, Text(input, e.TokenId),
                e.Channel, e.Value, mas[i].Ratio, kinds[i]));
        }
        var nearList = near
            .OrderByDescending(c => Math.Abs(c.Value)).ThenBy(c => c.Layer).ThenBy(c => c.Site).ThenBy(c => c.TokenIndex).ThenBy(c => c.Channel)
            .Take(options.MaxNearThreshold).ToList();
        return new MassiveActivationReport(options, occurrences, Births(input, occurrences, residualBirths, superWeights),
            Propagation(occurrences), superWeights, nearList,
            input.Thresholds.Values.OrderBy(t => t.Layer).ThenBy(t => t.Site).ToList());
    }

    /// <summary>
    /// One birth per family (token position, token id, residual channel): the earliest residual birth (then the first
    /// token), located at the first block site of that layer with a birth MA on the token feeding that residual site,
    /// or at the residual site itself when the block shows none. At y6 the neuron of the largest super-weight
    /// contribution is named; elsewhere the residual channel when present at that site, else the largest |value|.
    /// </summary>
    private static IReadOnlyList<MassiveActivationBirth> Births(DetectionInput input, IReadOnlyList<MassiveActivation> occurrences,
        IReadOnlyList<ResidualBirth> residualBirths, IReadOnlyList<SuperWeight> superWeights)
    {
        var result = new List<MassiveActivationBirth>();
        var families = residualBirths
            .Select(b => (Birth: b, Position: (int)(b.TokenIndex % input.Calibration.SequenceLength), TokenId: input.Calibration.TokenAt(b.TokenIndex)))
            .GroupBy(f => (f.Position, f.TokenId, f.Birth.Channel));
        foreach (var family in families)
        {
            var (b, position, tokenId) = family.OrderBy(f => f.Birth.Layer).ThenBy(f => f.Birth.TokenIndex).First();
            var feeding = ResidualSites.Feeding(b.Site);
            var candidates = occurrences
                .Where(o => o.Layer == b.Layer && o.TokenIndex == b.TokenIndex && o.Kind == MassiveActivationKind.Birth && feeding.Contains(o.Site))
                .ToList();
            MassiveActivationBirth birth;
            if (candidates.Count == 0)
            {
                var own = occurrences.First(o => o.Layer == b.Layer && o.Site == b.Site && o.TokenIndex == b.TokenIndex && o.Channel == b.Channel);
                birth = new MassiveActivationBirth(b.Layer, b.Site, b.Channel, b.Channel, b.TokenIndex, position, tokenId, own.Value);
            }
            else
            {
                var site = candidates.Min(o => o.Site);
                var atSite = candidates.Where(o => o.Site == site).ToList();
                var pick = Pick(atSite, site, b, superWeights);
                birth = new MassiveActivationBirth(b.Layer, site, pick.Channel, b.Channel, b.TokenIndex, position, tokenId, pick.Value);
            }
            result.Add(birth);
        }
        return result.OrderBy(r => r.Layer).ThenBy(r => r.Site).ThenBy(r => r.TokenPosition).ThenBy(r => r.Channel)
            .ThenBy(r => r.ResidualChannel).ThenBy(r => r.TokenId).ToList();
    }

    private static MassiveActivation Pick(List<MassiveActivation> atSite, ProbeSite site, ResidualBirth b, IReadOnlyList<SuperWeight> superWeights)
    {
        if (site == ProbeSite.Y6)
        {
            var best = superWeights.Where(w => w.Layer == b.Layer && w.Row == b.Channel && atSite.Any(o => o.Channel == w.Column))
                .OrderByDescending(w => Math.Abs(w.Contribution)).ThenBy(w => w.Column).FirstOrDefault();
            if (best is not null) return atSite.First(o => o.Channel == best.Column);
        }
        return atSite.FirstOrDefault(o => o.Channel == b.Channel)
            ?? atSite.OrderByDescending(o => Math.Abs(o.Value)).ThenBy(o => o.Channel).First();
    }

    private static IReadOnlyList<ResidualPropagation> Propagation(IReadOnlyList<MassiveActivation> occurrences)
        => occurrences.Where(o => ResidualSites.Contains(o.Site))
            .GroupBy(o => o.Channel)
            .OrderBy(g => g.Key)
            .Select(g => new ResidualPropagation(g.Key, g.Select(o => o.TokenPosition).Distinct().Order().ToList(),
                g.Min(o => o.Layer), g.Max(o => o.Layer), g.Max(o => Math.Abs(o.Value))))
            .ToList();

    private static int CompareLocation(ActivationEntry a, ActivationEntry b)
    {
        int c = a.Layer.CompareTo(b.Layer);
        if (c == 0) c = a.Site.CompareTo(b.Site);
        if (c == 0) c = a.TokenIndex.CompareTo(b.TokenIndex);
        return c != 0 ? c : a.Channel.CompareTo(b.Channel);
    }

    private static string Text(DetectionInput input, long tokenId) => input.Model.Tokenizer.TokenText((int)tokenId);
}
