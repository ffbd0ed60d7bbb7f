using Optimizer.Engine.Model;

namespace Optimizer.Engine.Manifest;

/// <summary>
/// The documented order of every manifest array (docs/manifest.md). Sorting is total: each comparison ends with keys
/// that make two different entries compare unequal, so the result never depends on the input order.
/// </summary>
public static class ManifestOrdering
{
    /// <summary>The forward-order rank of a site id; unknown ids rank after every known site.</summary>
    public static int SiteRank(string site) => ProbeSites.TryParse(site, out var s) ? ProbeSites.ForwardRank(s) : ProbeSites.ForwardCount;

    /// <summary>The manifest with every array in its documented order.</summary>
    public static OutlierManifest Normalize(OutlierManifest m) => m with
    {
        Model = m.Model with { Files = m.Model.Files.OrderBy(f => f.Path, StringComparer.Ordinal).ToArray() },
        Options = m.Options with { Co = m.Options.Co with { Sites = m.Options.Co.Sites.OrderBy(SiteRank).ThenBy(s => s, StringComparer.Ordinal).ToArray() } },
        Calibration = m.Calibration with { Files = m.Calibration.Files.OrderBy(f => f.Path, StringComparer.Ordinal).ToArray() },
        Census = SortCensus(m.Census),
        CensusAfter = m.CensusAfter is null ? null : SortCensus(m.CensusAfter),
        Transforms = m.Transforms is null ? null : m.Transforms with
        {
            // Transforms keep the plan's order (norm, smooth, otc, tma, tma-clamp): the order they are applied in.
            Applied = m.Transforms.Applied
                .Select(t => t with
                {
                    Touched = t.Touched.OrderBy(x => x.Layer).ThenBy(x => x.Target, StringComparer.Ordinal)
                        .Select(x => x with { Channels = x.Channels.Distinct().Order().ToArray() }).ToArray(),
                }).ToArray(),
        },
        Quantization = m.Quantization is null ? null : m.Quantization with
        {
            Tensors = m.Quantization.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToArray(),
        },
        Evaluation = m.Evaluation is null ? null : m.Evaluation with
        {
            Text = m.Evaluation.Text with { Files = m.Evaluation.Text.Files.OrderBy(f => f.Path, StringComparer.Ordinal).ToArray() },
        },
        Outputs = m.Outputs?.OrderBy(o => o.Path, StringComparer.Ordinal).ToArray(),
        Profiles = m.Profiles.OrderBy(p => p.Layer).ThenBy(p => p.Norm == NormProfile.Attention ? 0 : 1).ThenBy(p => p.Norm, StringComparer.Ordinal).ToArray(),
        Findings = Normalize(m.Findings),
    };

    private static CensusEntry[] SortCensus(IReadOnlyList<CensusEntry> census) => census
        .OrderBy(c => c.Layer).ThenBy(c => SiteRank(c.Site)).ThenBy(c => c.Site, StringComparer.Ordinal)
        .Select(c => c with { Top = SortTop(c.Top) })
        .ToArray();

    private static CensusTopEntry[] SortTop(IReadOnlyList<CensusTopEntry> top) => top
        .OrderByDescending(t => Math.Abs(ManifestNumbers.Round4(t.Value))).ThenBy(t => t.TokenPosition).ThenBy(t => t.Channel)
        .ThenBy(t => t.TokenId).ThenBy(t => t.Value)
        .ToArray();

    private static ManifestFindings Normalize(ManifestFindings f) => new(
        f.MassiveActivations
            .OrderBy(a => a.Layer).ThenBy(a => SiteRank(a.Site)).ThenBy(a => a.Site, StringComparer.Ordinal)
            .ThenBy(a => a.TokenIndex).ThenBy(a => a.Channel).ToArray(),
        f.Births
            .OrderBy(b => b.Layer).ThenBy(b => SiteRank(b.Site)).ThenBy(b => b.Site, StringComparer.Ordinal)
            .ThenBy(b => b.TokenPosition).ThenBy(b => b.Channel).ThenBy(b => b.ResidualChannel).ThenBy(b => b.TokenId).ToArray(),
        f.Propagation
            .OrderBy(p => p.Channel).ThenBy(p => p.FirstLayer)
            .Select(p => p with { TokenPositions = p.TokenPositions.Distinct().Order().ToArray() }).ToArray(),
        f.SuperWeights.OrderBy(s => s.Layer).ThenBy(s => s.Row).ThenBy(s => s.Column).ThenBy(s => s.Tensor, StringComparer.Ordinal).ToArray(),
        f.ChannelOutliers
            .OrderBy(c => c.Layer).ThenBy(c => SiteRank(c.Site)).ThenBy(c => c.Site, StringComparer.Ordinal).ThenBy(c => c.Channel).ToArray(),
        f.OutlierTriggeringChannels
            .OrderBy(o => o.Layer).ThenBy(o => o.Reading == OtcRecord.Row ? 0 : 1).ThenBy(o => o.Reading, StringComparer.Ordinal)
            .ThenBy(o => o.Index).ThenBy(o => o.Tensor, StringComparer.Ordinal).ToArray(),
        f.NearThreshold
            .OrderByDescending(n => Math.Abs(ManifestNumbers.Round4(n.Value))).ThenBy(n => n.Layer).ThenBy(n => SiteRank(n.Site))
            .ThenBy(n => n.Site, StringComparer.Ordinal).ThenBy(n => n.TokenIndex).ThenBy(n => n.Channel)
            .Take(ManifestFindings.MaxNearThreshold).ToArray());
}
