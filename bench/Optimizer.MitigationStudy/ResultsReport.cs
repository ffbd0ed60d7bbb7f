using System.Globalization;
using System.Text;

namespace Optimizer.MitigationStudy;

/// <summary>
/// The study's markdown: one table row per (model, quantization) with PPL original / without / with mitigation, a
/// verdict per row (helped, did nothing, hurt, and by how much), the engine's KL divergences, and the settings.
/// </summary>
public static class ResultsReport
{
    /// <summary>A relative perplexity change smaller than this (0.1%) is "did nothing".</summary>
    public const double NoEffect = 0.001;

    /// <summary>The verdict on mitigation: compares <paramref name="with"/> to <paramref name="without"/> (and to <paramref name="original"/>).</summary>
    public static string Verdict(double original, double without, double with)
    {
        double change = with / without - 1;
        double damage = without - original;
        string closed = damage > 0 ? $", {F((without - with) / damage * 100, 0)}% of the quantization loss recovered" : "";
        if (Math.Abs(change) < NoEffect) return $"did nothing ({Signed(change * 100, 3)}%)";
        return change < 0 ? $"helped: PPL {Signed(change * 100, 2)}%{closed}" : $"hurt: PPL {Signed(change * 100, 2)}%{closed}";
    }

    /// <summary>The markdown table of <paramref name="results"/> (no header text).</summary>
    public static string Table(IReadOnlyList<StudyResult> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| model | MA mode | quantization (judge) | PPL original | PPL quantized, no mitigation | PPL quantized, mitigated | KLD no mitigation / mitigated | verdict |");
        sb.AppendLine("|---|---|---|---:|---:|---:|---:|---|");
        foreach (var r in results)
        {
            string name = r.Model.Label;
            var original = r.Variant("original");
            void Row(string quant, double orig, double without, double with, string kld)
                => sb.AppendLine($"| {name} | {r.Model.MaModeId} | {quant} | {F(orig, 4)} | {F(without, 4)} | {F(with, 4)} | {kld} | {Verdict(orig, without, with)} |");
            var w8 = (r.Variant("w8a8-static-unmitigated"), r.Variant("w8a8-static"));
            Row("W8A8 per-tensor static, fake quant (engine)", original.Perplexity, w8.Item1.Perplexity, w8.Item2.Perplexity,
                $"{F(w8.Item1.KlDivergence, 5)} / {F(w8.Item2.KlDivergence, 5)}");
            Row("GGUF Q4_0 (llama.cpp)", r.LlamaF32, r.LlamaQ4_0, r.LlamaQ4_0Mitigated, "—");
            var q4 = (r.Variant("quantized-unmitigated"), r.Variant("quantized"));
            Row("Q4_0 weight-only, fake quant (engine)", original.Perplexity, q4.Item1.Perplexity, q4.Item2.Perplexity,
                $"{F(q4.Item1.KlDivergence, 5)} / {F(q4.Item2.KlDivergence, 5)}");
            var w4 = (r.Variant("w4a8-dynamic-unmitigated"), r.Variant("w4a8-dynamic"));
            Row("W4A8 (int4 g128, a8 per-token dynamic), fake quant (engine)", original.Perplexity, w4.Item1.Perplexity, w4.Item2.Perplexity,
                $"{F(w4.Item1.KlDivergence, 5)} / {F(w4.Item2.KlDivergence, 5)}");
        }
        return sb.ToString();
    }

    /// <summary>Per model: what the analysis found, which transforms were kept, the clamp gate, the exact transforms' own effect.</summary>
    public static string Details(IReadOnlyList<StudyResult> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| model | MA mode | found (calibration) | transforms kept | tma-clamp gate | PPL transformed F32 (engine) | scored tokens (engine / llama.cpp) |");
        sb.AppendLine("|---|---|---|---|---|---:|---:|");
        foreach (var r in results)
        {
            string kept = r.KeptTransforms.Count == 0 ? "none" : string.Join("; ", r.KeptTransforms);
            var transformed = r.Variant("transformed");
            sb.AppendLine($"| {r.Model.Label} | {r.Model.MaModeId} | {r.Findings} | {kept} | {r.ClampGate} | {F(transformed.Perplexity, 4)} "
                + $"(original {F(r.Variant("original").Perplexity, 4)}) | {r.Variant("original").Tokens} / {r.LlamaTokens} |");
        }
        return sb.ToString();
    }

    /// <summary>The settings paragraph.</summary>
    public static string Settings(StudySettings s)
    {
        var sb = new StringBuilder();
        sb.AppendLine("Settings:");
        sb.AppendLine();
        sb.AppendLine($"- Trained fixture `tests/fixtures/austen-byte-llama`: evaluation = the first {s.FixtureEvalTokens} tokens of `.corpus/austen-heldout.txt`; "
            + $"calibration = {s.CalibrationTokens} tokens of `.corpus/austen-train.txt`. Analysed twice: massive activations in `scale-free` mode "
            + "(the fixture's MAs sit below the absolute threshold of 100) and in `absolute` mode (finds none, so no TMA transform).");
        sb.AppendLine($"- Synthetic presets (tests/Optimizer.Fixtures `SyntheticModelBuilder.Presets`): evaluation = {s.SyntheticEvalTokens} tokens sampled "
            + $"from the original model with seed {s.Seed + 1}; calibration = {s.CalibrationTokens} tokens sampled with seed {s.Seed}; `absolute` MA mode.");
        sb.AppendLine($"- Windows: BOS + {s.SequenceLength - 1} text tokens, consecutive and non-overlapping, identical for the engine and llama.cpp; "
            + $"calibration sequences of {s.SequenceLength} tokens; batch {s.BatchSize}.");
        sb.AppendLine($"- Mitigations `{s.Mitigations}` planned by the `optimize` pipeline's own stages (OutlierAnalysis, TransformStage, VariantEvaluation): "
            + $"the exact transforms (verified by max |Δlogit|) plus the approximate `tma-clamp`, kept only if it raises held-out perplexity by at most {s.MaxPplIncrease * 100:F0}%.");
        sb.AppendLine("- W8A8: int8 per-output-channel weights (IntRoundTrip) and 8-bit per-tensor static activations on every linear input, the scales "
            + "calibrated on the calibration text with each variant's own weights (mitigated weights get their own scales). KLD = mean KL(original ‖ variant), nats/token.");
        sb.AppendLine("- GGUF Q4_0: LlamaGgufExporter writes the original as F32 and as Q4_0, and the mitigated weights (TransformedWeights) as Q4_0 "
            + "(the recipe as llama.cpp: 2-D weights Q4_0, the output head Q6_K or Q8_0 when its rows are not whole Q6_K blocks, norms F32); llama.cpp (LLamaSharp.Backend.Cpu, F32 KV cache) scores the same tokens and windows. "
            + "\"PPL original\" of that row is llama.cpp on the F32 file.");
        sb.AppendLine($"- Verdict: |Δ PPL| below {NoEffect * 100:F1}% between without and with mitigation is \"did nothing\"; otherwise helped or hurt by the relative change, "
            + "with the share of the quantization loss (PPL quantized − PPL original) that the mitigation recovered (negative = made worse).");
        sb.AppendLine();
        return sb.ToString();
    }

    /// <summary>One plain sentence per (model, quantization).</summary>
    public static string Statements(IReadOnlyList<StudyResult> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine("## In plain words");
        sb.AppendLine();
        foreach (var r in results)
        {
            string name = $"{r.Model.Label} ({r.Model.MaModeId})";
            var o = r.Variant("original").Perplexity;
            sb.AppendLine($"- {name}, W8A8 static: mitigation {Verdict(o, r.Variant("w8a8-static-unmitigated").Perplexity, r.Variant("w8a8-static").Perplexity)}.");
            sb.AppendLine($"- {name}, GGUF Q4_0 in llama.cpp: mitigation {Verdict(r.LlamaF32, r.LlamaQ4_0, r.LlamaQ4_0Mitigated)}.");
        }
        sb.AppendLine();
        return sb.ToString();
    }

    private static string F(double value, int digits) => value.ToString("F" + digits, CultureInfo.InvariantCulture);

    private static string Signed(double value, int digits) => (value >= 0 ? "+" : "") + F(value, digits);
}
