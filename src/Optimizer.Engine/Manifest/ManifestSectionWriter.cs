using System.Text.Json;

namespace Optimizer.Engine.Manifest;

/// <summary>Writes the analysis sections of the manifest: <c>census</c> (also <c>census_after</c>), <c>profiles</c> and <c>findings</c>.</summary>
internal static class ManifestSectionWriter
{
    public static void WriteCensus(Utf8JsonWriter w, IReadOnlyList<CensusEntry> census, string name = "census")
    {
        w.WriteStartArray(name);
        foreach (var c in census)
        {
            w.WriteStartObject();
            w.WriteNumber("layer", c.Layer);
            w.WriteString("site", c.Site);
            w.WriteNumber("channels", c.Channels);
            ManifestWriter.WriteStat(w, "max_abs", c.MaxAbs);
            ManifestWriter.WriteStat(w, "median_abs", c.MedianAbs);
            ManifestWriter.WriteStat(w, "p99_abs", c.P99Abs);
            ManifestWriter.WriteStat(w, "max_token_ratio", c.MaxTokenRatio);
            w.WriteStartArray("top");
            foreach (var t in c.Top)
            {
                w.WriteStartObject();
                w.WriteNumber("token_position", t.TokenPosition);
                w.WriteNumber("token_id", t.TokenId);
                w.WriteNumber("channel", t.Channel);
                ManifestWriter.WriteStat(w, "value", t.Value);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    public static void WriteProfiles(Utf8JsonWriter w, IReadOnlyList<NormProfile> profiles)
    {
        w.WriteStartArray("profiles");
        foreach (var p in profiles)
        {
            w.WriteStartObject();
            w.WriteNumber("layer", p.Layer);
            w.WriteString("norm", p.Norm);
            WriteStatArray(w, "pre_gamma_abs_max", p.PreGammaAbsMax);
            WriteStatArray(w, "post_gamma_abs_max", p.PostGammaAbsMax);
            WriteStatArray(w, "gamma", p.Gamma);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    public static void WriteFindings(Utf8JsonWriter w, ManifestFindings f)
    {
        w.WriteStartObject("findings");
        w.WriteStartArray("massive_activations");
        foreach (var a in f.MassiveActivations)
        {
            w.WriteStartObject();
            WriteOccurrence(w, a.Layer, a.Site, a.TokenIndex, a.TokenPosition, a.TokenId, a.TokenText, a.Channel, a.Value, a.Ratio);
            w.WriteString("kind", a.Kind);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("births");
        foreach (var b in f.Births)
        {
            w.WriteStartObject();
            w.WriteNumber("layer", b.Layer);
            w.WriteString("site", b.Site);
            w.WriteNumber("channel", b.Channel);
            w.WriteNumber("residual_channel", b.ResidualChannel);
            w.WriteNumber("token_position", b.TokenPosition);
            w.WriteNumber("token_id", b.TokenId);
            ManifestWriter.WriteStat(w, "value", b.Value);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("propagation");
        foreach (var p in f.Propagation)
        {
            w.WriteStartObject();
            w.WriteNumber("channel", p.Channel);
            w.WriteStartArray("token_positions");
            foreach (int position in p.TokenPositions) w.WriteNumberValue(position);
            w.WriteEndArray();
            w.WriteNumber("first_layer", p.FirstLayer);
            w.WriteNumber("last_layer", p.LastLayer);
            ManifestWriter.WriteStat(w, "max_abs", p.MaxAbs);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("super_weights");
        foreach (var s in f.SuperWeights)
        {
            w.WriteStartObject();
            w.WriteNumber("layer", s.Layer);
            w.WriteString("tensor", s.Tensor);
            w.WriteNumber("row", s.Row);
            w.WriteNumber("column", s.Column);
            ManifestWriter.WriteStat(w, "weight", s.Weight);
            ManifestWriter.WriteStat(w, "y6_value", s.Y6Value);
            ManifestWriter.WriteStat(w, "contribution", s.Contribution);
            ManifestWriter.WriteStat(w, "share", s.Share);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("channel_outliers");
        foreach (var c in f.ChannelOutliers)
        {
            w.WriteStartObject();
            w.WriteNumber("layer", c.Layer);
            w.WriteString("site", c.Site);
            w.WriteNumber("channel", c.Channel);
            ManifestWriter.WriteStat(w, "median_abs", c.MedianAbs);
            ManifestWriter.WriteStat(w, "ratio", c.Ratio);
            ManifestWriter.WriteStat(w, "token_fraction", c.TokenFraction);
            w.WriteString("cause", c.Cause);
            if (c.GammaRatio is double g) ManifestWriter.WriteStat(w, "gamma_ratio", g);
            else w.WriteNull("gamma_ratio");
            if (c.Otc is { } otc)
            {
                w.WriteStartObject("otc");
                w.WriteString("reading", otc.Reading);
                w.WriteNumber("index", otc.Index);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("otc");
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("outlier_triggering_channels");
        foreach (var o in f.OutlierTriggeringChannels)
        {
            w.WriteStartObject();
            w.WriteNumber("layer", o.Layer);
            w.WriteString("tensor", o.Tensor);
            w.WriteString("reading", o.Reading);
            w.WriteNumber("index", o.Index);
            if (o.RopePair is int pair) w.WriteNumber("rope_pair", pair);
            else w.WriteNull("rope_pair");
            ManifestWriter.WriteStat(w, "score", o.Score);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("near_threshold");
        foreach (var n in f.NearThreshold)
        {
            w.WriteStartObject();
            WriteOccurrence(w, n.Layer, n.Site, n.TokenIndex, n.TokenPosition, n.TokenId, n.TokenText, n.Channel, n.Value, n.Ratio);
            w.WriteString("criterion", n.Criterion);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteOccurrence(Utf8JsonWriter w, int layer, string site, long tokenIndex, int tokenPosition, int tokenId,
        string tokenText, int channel, double value, double? ratio)
    {
        w.WriteNumber("layer", layer);
        w.WriteString("site", site);
        w.WriteNumber("token_index", tokenIndex);
        w.WriteNumber("token_position", tokenPosition);
        w.WriteNumber("token_id", tokenId);
        w.WriteString("token_text", tokenText);
        w.WriteNumber("channel", channel);
        ManifestWriter.WriteStat(w, "value", value);
        if (ratio is double r && double.IsFinite(r)) ManifestWriter.WriteStat(w, "ratio", r);
        else w.WriteNull("ratio");
    }

    private static void WriteStatArray(Utf8JsonWriter w, string name, IReadOnlyList<double> values)
    {
        w.WriteStartArray(name);
        for (int i = 0; i < values.Count; i++) ManifestWriter.WriteStatValue(w, values[i], $"{name}[{i}]");
        w.WriteEndArray();
    }
}
