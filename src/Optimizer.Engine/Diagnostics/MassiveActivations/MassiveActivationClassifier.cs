using Optimizer.Engine.Model;

namespace Optimizer.Engine.Diagnostics.MassiveActivations;

/// <summary>An MA entry before classification, with its ratio to the token's median.</summary>
internal readonly record struct RawActivation(ActivationEntry Entry, double Ratio);

/// <summary>A residual site where an MA (token, channel) first enters the residual stream.</summary>
internal readonly record struct ResidualBirth(int Layer, ProbeSite Site, long TokenIndex, int Channel);

/// <summary>
/// Assigns each MA its kind (docs/manifest.md): at a residual site, <c>propagated</c> when the same token and channel
/// was an MA at the previous residual site, <c>birth</c> when that (token, channel) never was an MA at a residual site
/// before, else <c>tma</c> (the block re-created it). At a block site, <c>birth</c> when on the same token and in the
/// same layer an MA is born at the residual site that block feeds, else <c>tma</c>.
/// </summary>
internal static class MassiveActivationClassifier
{
    /// <summary><paramref name="mas"/> sorted by layer, site, token index, channel; returns one kind per entry and the residual births.</summary>
    public static (MassiveActivationKind[] Kinds, IReadOnlyList<ResidualBirth> Births) Classify(IReadOnlyList<RawActivation> mas)
    {
        var present = new HashSet<(int, ProbeSite, long, int)>();
        foreach (var m in mas) present.Add((m.Entry.Layer, m.Entry.Site, m.Entry.TokenIndex, m.Entry.Channel));
        var seen = new HashSet<(long, int)>();
        var births = new List<ResidualBirth>();
        var kinds = new MassiveActivationKind[mas.Count];
        int start = 0;
        while (start < mas.Count)
        {
            int layer = mas[start].Entry.Layer, end = start;
            while (end < mas.Count && mas[end].Entry.Layer == layer) end++;
            var bornHere = new List<ResidualBirth>();
            for (int i = start; i < end; i++)
            {
                var e = mas[i].Entry;
                if (!ResidualSites.Contains(e.Site)) continue;
                var previous = ResidualSites.Previous(e.Layer, e.Site);
                if (previous is { } p && present.Contains((p.Layer, p.Site, e.TokenIndex, e.Channel)))
                {
                    kinds[i] = MassiveActivationKind.Propagated;
                }
                else if (seen.Add((e.TokenIndex, e.Channel)))
                {
                    kinds[i] = MassiveActivationKind.Birth;
                    bornHere.Add(new ResidualBirth(e.Layer, e.Site, e.TokenIndex, e.Channel));
                }
                else
                {
                    kinds[i] = MassiveActivationKind.Tma;
                }
                seen.Add((e.TokenIndex, e.Channel));
            }
            for (int i = start; i < end; i++)
            {
                var e = mas[i].Entry;
                if (ResidualSites.Contains(e.Site)) continue;
                bool feedsBirth = bornHere.Any(b => b.TokenIndex == e.TokenIndex && ResidualSites.Feeding(b.Site).Contains(e.Site));
                kinds[i] = feedsBirth ? MassiveActivationKind.Birth : MassiveActivationKind.Tma;
            }
            births.AddRange(bornHere);
            start = end;
        }
        return (kinds, births);
    }
}
