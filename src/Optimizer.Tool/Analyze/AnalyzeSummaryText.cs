using Optimizer.Engine.Manifest;
using Optimizer.Tool.Cli;

namespace Optimizer.Tool.Analyze;

/// <summary>
/// The terminal summary of an analysis, read from its manifest: what was run, MAs by layer, birth sites, super weights,
/// the top channel outliers with their causes, OTCs and the near-threshold count.
/// </summary>
public static class AnalyzeSummaryText
{
    /// <summary>How many channel outliers and OTCs the tables show at most (the manifest has all of them).</summary>
    public const int MaxRows = 20;

    public static void Write(OutlierManifest m, TextWriter w, string? manifestPath)
    {
        ManifestArchitecture a = m.Model.Architecture;
        ManifestCalibration c = m.Calibration;
        w.WriteLine($"Model        {m.Model.Name} ({a.ModelType}, {a.Layers} layers, hidden {a.HiddenSize}, {Units.ShortCount(a.Parameters)} parameters)");
        string source = c.Source == ManifestCalibration.TextSource
            ? $"text ({c.Files.Count} file{(c.Files.Count == 1 ? "" : "s")})"
            : $"self-sampled (seed {c.Seed}, temperature {Units.Exact(c.Sampling?.Temperature ?? 0)}, top-k {c.Sampling?.TopK})";
        w.WriteLine($"Calibration  {source}: {Units.Count(c.Tokens)} tokens in {c.Sequences} sequence(s) of {c.SequenceLength}{(c.Bos ? ", BOS first" : "")}");
        MaOptions ma = m.Options.Ma;
        w.WriteLine(ma.Mode == MaOptions.Absolute
            ? $"MA rule      absolute: |x| > {Units.Exact(ma.AbsoluteThreshold)} and >= {Units.Exact(ma.RelativeThreshold)} x the token's median |x|"
            : $"MA rule      scale-free: |x| >= {Units.Exact(ma.ScaleFreeFactor)} x the site's median per-token max and >= {Units.Exact(ma.RelativeThresholdScaleFree)} x the token's median |x|");
        w.WriteLine($"CO rule      median |x[:, j]| >= {Units.Exact(m.Options.Co.Ratio)} x the median over channels; gamma ratio > {Units.Exact(m.Options.Gamma.Ratio)}; OTC score >= {Units.Exact(m.Options.Otc.Ratio)}");
        w.WriteLine();
        WriteMassiveActivations(m.Findings, w);
        WriteChannelOutliers(m.Findings, w);
        int near = m.Findings.NearThreshold.Count;
        w.WriteLine(near == 0
            ? "Near-threshold candidates: none."
            : $"Near-threshold candidates: {near}{(near >= ManifestFindings.MaxNearThreshold ? " (at least)" : "")}, largest |x| {Stat(m.Findings.NearThreshold.Max(n => Math.Abs(n.Value)))}"
              + (ma.Mode == MaOptions.Absolute ? " (try --ma-mode scale-free for small models)." : "."));
        if (manifestPath is not null) w.WriteLine($"Manifest written to {manifestPath}");
    }

    private static void WriteMassiveActivations(ManifestFindings f, TextWriter w)
    {
        if (f.MassiveActivations.Count == 0)
        {
            w.WriteLine("Massive activations: none.");
            w.WriteLine();
            return;
        }
        w.WriteLine($"Massive activations: {f.MassiveActivations.Count} occurrence(s), {f.Births.Count} famil{(f.Births.Count == 1 ? "y" : "ies")}");
        var byLayer = new TextTable(">LAYER", ">BIRTH", ">TMA", ">PROPAGATED", ">MAX |X|", "SITES");
        foreach (var layer in f.MassiveActivations.GroupBy(x => x.Layer).OrderBy(g => g.Key))
        {
            byLayer.AddRow(layer.Key.ToString(),
                layer.Count(x => x.Kind == MassiveActivationRecord.Birth).ToString(),
                layer.Count(x => x.Kind == MassiveActivationRecord.Tma).ToString(),
                layer.Count(x => x.Kind == MassiveActivationRecord.Propagated).ToString(),
                Stat(layer.Max(x => Math.Abs(x.Value))),
                string.Join(" ", layer.Select(x => x.Site).Distinct().OrderBy(ManifestOrdering.SiteRank)));
        }
        byLayer.Write(w);
        w.WriteLine();
        if (f.Births.Count == 0)
        {
            w.WriteLine("Birth sites: none (no MA reaches the residual stream).");
        }
        else
        {
            w.WriteLine("Birth sites:");
            var births = new TextTable(">LAYER", "SITE", ">CHANNEL", ">RESIDUAL", ">POSITION", ">TOKEN", ">VALUE");
            foreach (var b in f.Births)
                births.AddRow(b.Layer.ToString(), b.Site, b.Channel.ToString(), b.ResidualChannel.ToString(), b.TokenPosition.ToString(), b.TokenId.ToString(), Stat(b.Value));
            births.Write(w);
        }
        w.WriteLine();
        if (f.Propagation.Count > 0)
        {
            w.WriteLine("Propagation along the residual stream:");
            var propagation = new TextTable(">CHANNEL", "LAYERS", "POSITIONS", ">MAX |X|");
            foreach (var p in f.Propagation)
                propagation.AddRow(p.Channel.ToString(), $"{p.FirstLayer}-{p.LastLayer}", string.Join(",", p.TokenPositions.Take(8)) + (p.TokenPositions.Count > 8 ? ",..." : ""), Stat(p.MaxAbs));
            propagation.Write(w);
            w.WriteLine();
        }
        if (f.SuperWeights.Count == 0)
        {
            w.WriteLine("Super weights: none found.");
        }
        else
        {
            w.WriteLine("Super weights:");
            var weights = new TextTable("TENSOR", ">ROW", ">COLUMN", ">WEIGHT", ">Y6", ">SHARE");
            foreach (var s in f.SuperWeights)
                weights.AddRow(s.Tensor, s.Row.ToString(), s.Column.ToString(), Stat(s.Weight), Stat(s.Y6Value), Stat(s.Share));
            weights.Write(w);
        }
        w.WriteLine();
    }

    private static void WriteChannelOutliers(ManifestFindings f, TextWriter w)
    {
        if (f.ChannelOutliers.Count == 0)
        {
            w.WriteLine("Channel-wise outliers: none.");
        }
        else
        {
            var causes = f.ChannelOutliers.GroupBy(o => o.Cause).OrderBy(g => ChannelOutlierRecord.Causes.ToList().IndexOf(g.Key)).Select(g => $"{g.Count()} {g.Key}");
            w.WriteLine($"Channel-wise outliers: {f.ChannelOutliers.Count} ({string.Join(", ", causes)})" + (f.ChannelOutliers.Count > MaxRows ? $", the {MaxRows} largest:" : ":"));
            var table = new TextTable(">LAYER", "SITE", ">CHANNEL", ">RATIO", ">TOKENS", "CAUSE", "DETAIL");
            foreach (var o in f.ChannelOutliers.OrderByDescending(o => o.Ratio).ThenBy(o => o.Layer).ThenBy(o => ManifestOrdering.SiteRank(o.Site)).ThenBy(o => o.Channel).Take(MaxRows))
            {
                string detail = o.GammaRatio is double g ? $"|gamma| {Stat(g)} x median" : o.Otc is { } otc ? $"W_q {otc.Reading} {otc.Index}" : "";
                table.AddRow(o.Layer.ToString(), o.Site, o.Channel.ToString(), Stat(o.Ratio), $"{Stat(o.TokenFraction * 100)}%", o.Cause, detail);
            }
            table.Write(w);
        }
        w.WriteLine();
        if (f.OutlierTriggeringChannels.Count == 0)
        {
            w.WriteLine("Outlier-triggering channels in W_q: none.");
        }
        else
        {
            w.WriteLine($"Outlier-triggering channels in W_q: {f.OutlierTriggeringChannels.Count}" + (f.OutlierTriggeringChannels.Count > MaxRows ? $", the {MaxRows} highest scores:" : ":"));
            var table = new TextTable(">LAYER", "READING", ">INDEX", ">ROPE PAIR", ">SCORE");
            foreach (var o in f.OutlierTriggeringChannels.OrderByDescending(o => o.Score).ThenBy(o => o.Layer).ThenBy(o => o.Reading).ThenBy(o => o.Index).Take(MaxRows))
                table.AddRow(o.Layer.ToString(), o.Reading, o.Index.ToString(), o.RopePair?.ToString() ?? "-", Stat(o.Score));
            table.Write(w);
        }
        w.WriteLine();
    }

    private static string Stat(double value) => Units.Significant(ManifestNumbers.Round4(value), 4);
}
