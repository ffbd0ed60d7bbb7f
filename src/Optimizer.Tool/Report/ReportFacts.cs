using System.Globalization;
using Optimizer.Engine.Manifest;

namespace Optimizer.Tool.Report;

/// <summary>The manifest's model, calibration and option records as labelled values for the report's fact lists.</summary>
internal static class ReportFacts
{
    /// <summary>The number of layers: the architecture's, or more if the census or profiles name more.</summary>
    public static int LayerCount(OutlierManifest m) =>
        Math.Max(m.Model.Architecture.Layers, Math.Max(
            m.Census.Count == 0 ? 0 : m.Census.Max(c => c.Layer) + 1,
            m.Profiles.Count == 0 ? 0 : m.Profiles.Max(p => p.Layer) + 1));

    public static IEnumerable<KeyValuePair<string, string>> Model(ManifestModel model)
    {
        ManifestArchitecture a = model.Architecture;
        yield return new("name", model.Name);
        yield return new("model type", a.ModelType);
        yield return new("layers", Html.Count(a.Layers));
        yield return new("hidden size", Html.Count(a.HiddenSize));
        yield return new("intermediate size", Html.Count(a.IntermediateSize));
        yield return new("attention heads", $"{Html.Count(a.AttentionHeads)} ({Html.Count(a.KvHeads)} key/value), head dim {Html.Count(a.HeadDim)}");
        yield return new("vocabulary", Html.Count(a.VocabSize));
        yield return new("parameters", Html.Count(a.Parameters));
        yield return new("tied embeddings", YesNo(a.TiedEmbeddings));
        yield return new("q/k/v bias", YesNo(a.QkvBias));
        yield return new("rope theta", Html.Number(a.RopeTheta));
        yield return new("rms norm eps", Html.Number(a.RmsNormEps));
        yield return new("files", string.Join(", ", model.Files.Select(f => f.Path)));
    }

    public static IEnumerable<KeyValuePair<string, string>> Calibration(ManifestCalibration c)
    {
        yield return new("source", c.Source);
        if (c.Files.Count > 0) yield return new("files", string.Join(", ", c.Files.Select(f => f.Path)));
        if (c.Seed is long seed) yield return new("seed", seed.ToString(CultureInfo.InvariantCulture));
        if (c.Sampling is { } s) yield return new("sampling", $"temperature {Html.Number(s.Temperature)}, top-k {Html.Count(s.TopK)}");
        yield return new("sequences", $"{Html.Count(c.Sequences)} × {Html.Count(c.SequenceLength)} tokens");
        yield return new("starts with BOS", YesNo(c.Bos));
        yield return new("tokens", Html.Count(c.Tokens));
        yield return new("tokens sha256", c.TokensSha256);
    }

    public static IEnumerable<KeyValuePair<string, string>> Options(ManifestOptions o)
    {
        yield return new("MA mode", o.Ma.Mode);
        yield return new("MA absolute threshold", "|x| > " + Html.Number(o.Ma.AbsoluteThreshold));
        yield return new("MA relative threshold", Html.Number(o.Ma.RelativeThreshold) + "× token median");
        yield return new("scale-free factor", Html.Number(o.Ma.ScaleFreeFactor) + "× median token max");
        yield return new("scale-free relative", Html.Number(o.Ma.RelativeThresholdScaleFree) + "× token median");
        yield return new("near-threshold", Html.Percent(o.Ma.NearThresholdFraction) + " of a threshold");
        yield return new("CO rule", $"{o.Co.Rule}, ratio {Html.Number(o.Co.Ratio)}");
        yield return new("CO sites", string.Join(", ", o.Co.Sites));
        yield return new("γ outlier ratio", Html.Number(o.Gamma.Ratio) + "× median |γ|");
        yield return new("OTC ratio", Html.Number(o.Otc.Ratio));
        yield return new("census top-k", Html.Count(o.TopK));
    }

    private static string YesNo(bool value) => value ? "yes" : "no";
}
