using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Optimizer.Tool.Tests.EvalCompare;

/// <summary><c>eval --compare / --weight-quant / --activation-quant</c> on small models written by the test.</summary>
public sealed class EvalCompareTests : IClassFixture<EvalCompareTests.Models>
{
    private readonly Models _models;

    public EvalCompareTests(Models models) => _models = models;

    /// <summary>Two small models with the same tokenizer and different weights, an eval text and a calibration text.</summary>
    public sealed class Models : IDisposable
    {
        public Models()
        {
            Reference = TinyModel.Create(hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, seed: 1234);
            Other = TinyModel.Create(hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, seed: 99);
            TextPath = Reference.WriteText("eval.txt", SampleText.Create(600));
            CalibrationPath = Reference.WriteText("calibration.txt", SampleText.Create(2000, seed: 11));
        }

        public TinyModel Reference { get; }

        public TinyModel Other { get; }

        public string TextPath { get; }

        public string CalibrationPath { get; }

        public void Dispose()
        {
            Reference.Dispose();
            Other.Dispose();
        }
    }

    private static JsonElement Json(ToolResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.StdOut);
        return doc.RootElement.Clone();
    }

    private static double PlainPerplexity(string model, string text, string context)
        => Json(ToolProcess.Run("eval", model, "--text", text, "--context", context, "--json", "--quiet")).GetProperty("perplexity").GetDouble();

    [Fact]
    public void ComparingAModelWithItself_GivesZeroDivergenceAndFullAgreement()
    {
        var result = ToolProcess.Run("eval", _models.Reference.Folder, "--text", _models.TextPath, "--context", "128",
            "--compare", _models.Reference.Folder);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(new Regex(@"^Compared with:\s+tiny-llama$", RegexOptions.Multiline), result.StdOut);
        Assert.Matches(new Regex(@"^Tokens scored:\s+600$", RegexOptions.Multiline), result.StdOut);
        string row = result.StdOut.Split('\n').Single(l => l.StartsWith("tiny-llama ", StringComparison.Ordinal));
        Assert.Matches(new Regex(@"^tiny-llama\s+[\d.]+\s+0%\s+0\s+100\.00%$"), row);
        Assert.Contains("eval: tiny-llama vs tiny-llama: 600 tokens in 5 window(s)", result.StdErr);
    }

    [Fact]
    public void ComparingTwoModels_ReportsBothPerplexitiesAsPlainEvalMeasuresThem()
    {
        string[] args = { "eval", _models.Reference.Folder, "--text", _models.TextPath, "--context", "128", "--compare", _models.Other.Folder, "--json", "--quiet" };
        var first = ToolProcess.Run(args);
        var second = ToolProcess.Run(args);
        JsonElement root = Json(first);
        Assert.Equal(first.StdOut, second.StdOut);
        Assert.Equal("", first.StdErr);
        Assert.Equal("outlier-opt-eval-compare/1", root.GetProperty("schema").GetString());
        Assert.Equal("tiny-llama", root.GetProperty("compare").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("calibration").ValueKind);
        Assert.Equal(600, root.GetProperty("tokens_scored").GetInt64());
        JsonElement candidate = root.GetProperty("candidates").EnumerateArray().Single();

        double referencePpl = root.GetProperty("perplexity").GetDouble(), otherPpl = candidate.GetProperty("perplexity").GetDouble();
        Assert.Equal(PlainPerplexity(_models.Reference.Folder, _models.TextPath, "128"), referencePpl);
        Assert.Equal(PlainPerplexity(_models.Other.Folder, _models.TextPath, "128"), otherPpl);
        Assert.NotEqual(referencePpl, otherPpl);
        Assert.Equal(otherPpl / referencePpl - 1, candidate.GetProperty("perplexity_increase").GetDouble(), 2e-3);
        // Two unrelated random models: clearly different distributions (with tied embeddings both mostly predict the
        // input token again, so their top-1 choices still agree often).
        Assert.True(candidate.GetProperty("kl_divergence").GetDouble() > 0.01, first.StdOut);
        Assert.InRange(candidate.GetProperty("top1_agreement").GetDouble(), 0, 0.9999);
    }

    [Fact]
    public void ActivationSchemes_AreOneCandidateEach_AndFourBitsDivergeMore()
    {
        string[] args = { "eval", _models.Reference.Folder, "--text", _models.TextPath, "--context", "128",
            "--activation-quant", "a8-dynamic,A4-Dynamic,a8-static", "--calibration", _models.CalibrationPath, "--calibration-tokens", "512", "--json", "--quiet" };
        var first = ToolProcess.Run(args);
        JsonElement root = Json(first);
        Assert.Equal(first.StdOut, ToolProcess.Run(args).StdOut);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("compare").ValueKind);
        Assert.Equal("512 tokens in 4 sequence(s) of 128, text from 1 file(s)", root.GetProperty("calibration").GetString());
        var candidates = root.GetProperty("candidates").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal(new[] { "a8-dynamic", "a4-dynamic", "a8-static" }, candidates.Keys);
        double Kl(string name) => candidates[name].GetProperty("kl_divergence").GetDouble();
        Assert.True(Kl("a8-dynamic") > 0);
        Assert.True(Kl("a4-dynamic") > 10 * Kl("a8-dynamic"), first.StdOut);
        Assert.True(Kl("a8-static") > 0);
        Assert.True(candidates["a8-dynamic"].GetProperty("top1_agreement").GetDouble() > 0.95, first.StdOut);
    }

    [Fact]
    public void WeightAndActivationSchemesCombine_WithSelfSampledCalibrationByDefault()
    {
        var result = ToolProcess.Run("eval", _models.Reference.Folder, "--text", _models.TextPath, "--context", "128", "--max-tokens", "400",
            "--weight-quant", "int8", "--activation-quant", "a8-static");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(new Regex(@"^Calibration:\s+1,024 tokens in 8 sequence\(s\) of 128, self-sampled \(seed 42\)$", RegexOptions.Multiline), result.StdOut);
        string row = result.StdOut.Split('\n').Single(l => l.StartsWith("int8+a8-static ", StringComparison.Ordinal));
        var match = Regex.Match(row, @"^int8\+a8-static\s+(?<ppl>[\d.]+)\s+[-+]?[\d.]+%\s+(?<kl>[\d.eE+-]+)\s+(?<top>[\d.]+)%$");
        Assert.True(match.Success, row);
        Assert.True(double.Parse(match.Groups["kl"].Value, CultureInfo.InvariantCulture) > 0, row);
        Assert.Matches(new Regex(@"^Candidate\s+Perplexity\s+Change\s+KL \(nats/token\)\s+Top-1 agreement$", RegexOptions.Multiline), result.StdOut);
    }

    [Fact]
    public void GgufRecipes_AreWeightSchemesToo()
    {
        JsonElement root = Json(ToolProcess.Run("eval", _models.Reference.Folder, "--text", _models.TextPath, "--context", "128",
            "--max-tokens", "400", "--weight-quant", "q4_0", "--json", "--quiet"));
        JsonElement candidate = root.GetProperty("candidates").EnumerateArray().Single();
        Assert.Equal("Q4_0", candidate.GetProperty("name").GetString());
        Assert.True(candidate.GetProperty("kl_divergence").GetDouble() > 0);
        Assert.Equal(400, root.GetProperty("tokens_scored").GetInt64());
    }

    [Theory]
    [InlineData("--activation-quant", "a6-static", "OOPT3040", "--activation-quant: unknown scheme 'a6-static'")]
    [InlineData("--activation-quant", "a8-static,,a4-dynamic", "OOPT3040", "--activation-quant has an empty entry")]
    [InlineData("--activation-quant", "a8-dynamic,A8-DYNAMIC", "OOPT3040", "--activation-quant names a8-dynamic twice.")]
    [InlineData("--weight-quant", "int3", "OOPT3043", "--weight-quant: Unknown quantization 'int3'; valid: ")]
    [InlineData("--calibration-tokens", "4096", "OOPT3042", "--calibration and --calibration-tokens set the ranges of a static activation scheme")]
    public void BadValues_AreUsageErrors(string option, string value, string code, string message)
    {
        var result = ToolProcess.Run("eval", _models.Reference.Folder, "--text", _models.TextPath, option, value);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith($"error {code}: {message}", result.StdErr);
        Assert.Equal("", result.StdOut);
    }

    [Fact]
    public void CalibrationWithADynamicSchemeOnly_IsAConflict()
    {
        var result = ToolProcess.Run("eval", _models.Reference.Folder, "--text", _models.TextPath,
            "--activation-quant", "a8-dynamic", "--calibration", _models.CalibrationPath);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("error OOPT3042: ", result.StdErr);
    }

    [Fact]
    public void AModelWithAnotherTokenizerSetup_CannotBeCompared()
    {
        using var noBos = TinyModel.Create(hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, bos: false);
        var result = ToolProcess.Run("eval", _models.Reference.Folder, "--text", _models.TextPath, "--compare", noBos.Folder);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith($"{noBos.Folder}: error OOPT3041: The compared model's BOS id is none; the model's is 256.", result.StdErr);
    }
}
