using System.Text.Json;

namespace Optimizer.Engine.Manifest;

/// <summary>
/// Writes the optional top-level sections that <c>optimize</c> adds after <c>findings</c>, in this order:
/// <c>transforms</c>, <c>census_after</c>, <c>quantization</c>, <c>evaluation</c>, <c>outputs</c> (docs/manifest.md).
/// A section that is null is left out.
/// </summary>
internal static class OptimizeSectionWriter
{
    public static void Write(Utf8JsonWriter w, OutlierManifest m)
    {
        if (m.Transforms is { } transforms) WriteTransforms(w, transforms);
        if (m.CensusAfter is { } census) ManifestSectionWriter.WriteCensus(w, census, "census_after");
        if (m.Quantization is { } quantization) WriteQuantization(w, quantization);
        if (m.Evaluation is { } evaluation) WriteEvaluation(w, evaluation);
        if (m.Outputs is { } outputs) WriteOutputs(w, outputs);
    }

    private static void WriteTransforms(Utf8JsonWriter w, ManifestTransforms t)
    {
        w.WriteStartObject("transforms");
        w.WriteStartArray("mitigations");
        foreach (string name in t.Mitigations) w.WriteStringValue(name);
        w.WriteEndArray();
        w.WriteStartArray("applied");
        foreach (var a in t.Applied)
        {
            w.WriteStartObject();
            w.WriteString("name", a.Name);
            w.WriteBoolean("exact", a.Exact);
            w.WriteString("status", a.Status);
            w.WriteStartObject("parameters");
            foreach (var p in a.Parameters) w.WriteString(p.Name, p.Value);
            w.WriteEndObject();
            w.WriteStartArray("touched");
            foreach (var touch in a.Touched)
            {
                w.WriteStartObject();
                w.WriteNumber("layer", touch.Layer);
                w.WriteString("target", touch.Target);
                w.WriteStartArray("channels");
                foreach (int channel in touch.Channels) w.WriteNumberValue(channel);
                w.WriteEndArray();
                ManifestWriter.WriteStat(w, "min_scale", touch.MinScale);
                ManifestWriter.WriteStat(w, "max_scale", touch.MaxScale);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        ManifestWriter.WriteStat(w, "max_abs_delta_logit", t.MaxAbsDeltaLogit);
        if (t.ClampGate is { } g)
        {
            w.WriteStartObject("clamp_gate");
            ManifestWriter.WriteExact(w, "limit", g.Limit);
            ManifestWriter.WriteStat(w, "perplexity_without", g.PerplexityWithout);
            ManifestWriter.WriteStat(w, "perplexity_with", g.PerplexityWith);
            ManifestWriter.WriteStat(w, "increase", g.Increase);
            w.WriteBoolean("kept", g.Kept);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("clamp_gate");
        }
        w.WriteEndObject();
    }

    private static void WriteQuantization(Utf8JsonWriter w, ManifestQuantization q)
    {
        w.WriteStartObject("quantization");
        w.WriteString("format", q.Format);
        w.WriteString("recipe", q.Recipe);
        if (q.GroupSize is int group) w.WriteNumber("group_size", group);
        else w.WriteNull("group_size");
        w.WriteStartArray("tensors");
        foreach (var t in q.Tensors)
        {
            w.WriteStartObject();
            w.WriteString("name", t.Name);
            w.WriteString("type", t.Type);
            ManifestWriter.WriteStat(w, "relative_rmse", t.RelativeRmse);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteBoolean("imatrix", q.Imatrix);
        if (q.Compensation is { } compensation)
        {
            w.WriteStartArray("compensation");
            foreach (var c in compensation)
            {
                w.WriteStartObject();
                w.WriteString("tensor", c.Tensor);
                w.WriteString("type", c.Type);
                WriteOptionalExact(w, "damping", c.Damping);
                if (c.Skipped is { } skipped) w.WriteString("skipped", skipped);
                else w.WriteNull("skipped");
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        else
        {
            w.WriteNull("compensation");
        }
        w.WriteEndObject();
    }

    private static void WriteEvaluation(Utf8JsonWriter w, ManifestEvaluation e)
    {
        w.WriteStartObject("evaluation");
        w.WriteStartObject("text");
        w.WriteString("source", e.Text.Source);
        w.WriteStartArray("files");
        foreach (var f in e.Text.Files)
        {
            w.WriteStartObject();
            w.WriteString("path", f.Path);
            w.WriteNumber("bytes", f.Bytes);
            w.WriteString("sha256", f.Sha256);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (e.Text.Seed is long seed) w.WriteNumber("seed", seed);
        else w.WriteNull("seed");
        w.WriteNumber("tokens", e.Text.Tokens);
        w.WriteNumber("context", e.Text.Context);
        w.WriteString("tokens_sha256", e.Text.TokensSha256);
        w.WriteEndObject();
        w.WriteStartArray("variants");
        foreach (var v in e.Variants)
        {
            w.WriteStartObject();
            w.WriteString("name", v.Name);
            w.WriteString("weights", v.Weights);
            w.WriteString("activations", v.Activations);
            w.WriteBoolean("mitigated", v.Mitigated);
            ManifestWriter.WriteStat(w, "perplexity", v.Perplexity);
            ManifestWriter.WriteStat(w, "perplexity_increase", v.PerplexityIncrease);
            ManifestWriter.WriteStat(w, "kl_divergence", v.KlDivergence);
            ManifestWriter.WriteStat(w, "top1_agreement", v.Top1Agreement);
            w.WriteNumber("tokens", v.Tokens);
            if (v.Candidate is { } c)
            {
                w.WriteStartObject("candidate");
                w.WriteBoolean("selected", c.Selected);
                w.WriteBoolean("imatrix", c.Imatrix);
                w.WriteBoolean("compensated", c.Compensated);
                if (c.TensorBytes is long bytes) w.WriteNumber("tensor_bytes", bytes);
                else w.WriteNull("tensor_bytes");
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("candidate");
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (e.Selection is { } s)
        {
            w.WriteStartObject("selection");
            w.WriteString("search", s.Search);
            w.WriteString("mitigations", s.Mitigations);
            w.WriteString("selected", s.Selected);
            w.WriteString("rule", s.Rule);
            if (s.Constraint is { } constraint) w.WriteString("constraint", constraint);
            else w.WriteNull("constraint");
            if (s.BetterExcluded is { } better) w.WriteString("better_excluded", better);
            else w.WriteNull("better_excluded");
            ManifestWriter.WriteExact(w, "tie_tolerance", s.TieTolerance);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("selection");
        }
        w.WriteStartObject("gate");
        WriteOptionalExact(w, "fail_above_ppl_increase", e.Gate.FailAbovePplIncrease);
        WriteOptionalExact(w, "fail_above_kld", e.Gate.FailAboveKld);
        ManifestWriter.WriteStat(w, "perplexity_increase", e.Gate.PerplexityIncrease);
        ManifestWriter.WriteStat(w, "kl_divergence", e.Gate.KlDivergence);
        w.WriteBoolean("passed", e.Gate.Passed);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteOutputs(Utf8JsonWriter w, IReadOnlyList<ManifestOutput> outputs)
    {
        w.WriteStartArray("outputs");
        foreach (var o in outputs)
        {
            w.WriteStartObject();
            w.WriteString("path", o.Path);
            w.WriteString("kind", o.Kind);
            w.WriteNumber("bytes", o.Bytes);
            w.WriteString("sha256", o.Sha256);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteOptionalExact(Utf8JsonWriter w, string name, double? value)
    {
        if (value is double v) ManifestWriter.WriteExact(w, name, v);
        else w.WriteNull(name);
    }
}
