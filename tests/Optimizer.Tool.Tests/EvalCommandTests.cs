using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Optimizer.Tool.Tests;

/// <summary><c>eval</c> on a small model written by the test: results, determinism and input errors.</summary>
public sealed class EvalCommandTests : IClassFixture<EvalCommandTests.Model>
{
    private readonly Model _model;

    public EvalCommandTests(Model model) => _model = model;

    /// <summary>One small tied model and a 3 KB text shared by the tests of this class.</summary>
    public sealed class Model : IDisposable
    {
        public Model()
        {
            Tiny = TinyModel.Create(hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, tied: true);
            TextPath = Tiny.WriteText("eval.txt", SampleText.Create(3000));
        }

        public TinyModel Tiny { get; }

        public string TextPath { get; }

        public void Dispose() => Tiny.Dispose();
    }

    [Fact]
    public void PrintsPerplexity_AndTheSameNumbersTwice()
    {
        string[] args = { "eval", _model.Tiny.Folder, "--text", _model.TextPath, "--context", "128", "--batch", "2" };
        var first = ToolProcess.Run(args);
        var second = ToolProcess.Run(args);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());

        string perplexity = Line(first.StdOut, "Perplexity");
        Assert.Matches(new Regex(@"^Perplexity:\s+\d[\d.]*$"), perplexity);
        Assert.Equal(perplexity, Line(second.StdOut, "Perplexity"));
        Assert.Equal(Line(first.StdOut, "Mean NLL"), Line(second.StdOut, "Mean NLL"));

        // 3000 ASCII bytes are 3000 byte-level tokens; with BOS every one of them is scored.
        Assert.Matches(new Regex(@"^Tokens scored:\s+3,000$"), Line(first.StdOut, "Tokens scored"));
        Assert.Matches(new Regex(@"^Text:\s+eval\.txt: 3,000 tokens$"), Line(first.StdOut, "Text"));
        Assert.Matches(new Regex(@"^Windows:\s+24 of up to 128 tokens, batch 2, device cpu$"), Line(first.StdOut, "Windows"));
        Assert.Matches(new Regex(@"^Speed:\s+[\d.,]+ tokens/s \([\d.]+ s\)$"), Line(first.StdOut, "Speed"));

        double nll = double.Parse(Regex.Match(Line(first.StdOut, "Mean NLL"), @"[\d.]+").Value, CultureInfo.InvariantCulture);
        double ppl = double.Parse(Regex.Match(perplexity, @"\d[\d.]*").Value, CultureInfo.InvariantCulture);
        Assert.InRange(ppl, Math.Exp(nll) * 0.999, Math.Exp(nll) * 1.001);
        // Four significant digits.
        Assert.Equal(4, Regex.Match(perplexity, @"\d[\d.]*").Value.Replace(".", "").TrimStart('0').Length);
        // An untrained model is about as unsure as uniform over the 257 tokens; far from certain, far from absurd.
        Assert.InRange(ppl, 20, 5000);
        // Progress and the status line go to stderr; stdout has only the result.
        Assert.Contains("eval: tiny-llama: 3,000 tokens in 24 window(s)", first.StdErr);
    }

    [Fact]
    public void Json_IsDeterministic_AndMaxTokensLimitsTheText()
    {
        string[] args = { "eval", _model.Tiny.Folder, "--text", _model.TextPath, "--max-tokens", "500", "--context", "100", "--json", "--quiet" };
        var first = ToolProcess.Run(args);
        var second = ToolProcess.Run(args);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(first.StdOut, second.StdOut);
        Assert.Equal("", first.StdErr);
        using var doc = JsonDocument.Parse(first.StdOut);
        var root = doc.RootElement;
        Assert.Equal("outlier-opt-eval/1", root.GetProperty("schema").GetString());
        Assert.Equal(3000, root.GetProperty("text_tokens").GetInt32());
        Assert.Equal(500, root.GetProperty("tokens_used").GetInt32());
        Assert.Equal(500, root.GetProperty("tokens_scored").GetInt64());
        Assert.Equal(5, root.GetProperty("windows").GetInt32());
        Assert.True(root.GetProperty("perplexity").GetDouble() > 1);
    }

    [Fact]
    public void MsbuildMode_WritesNothingToStderrOnSuccess()
    {
        var result = ToolProcess.Run("--diagnostics", "msbuild", "eval", _model.Tiny.Folder, "--text", _model.TextPath, "--max-tokens", "300");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.StdErr);
        Assert.Matches(new Regex(@"^Tokens scored:\s+300$", RegexOptions.Multiline), result.StdOut);
    }

    [Fact]
    public void MissingTextFile_ExitsOne_NamingIt()
    {
        string missing = Path.Combine(_model.Tiny.Root, "missing.txt");
        var result = ToolProcess.Run("eval", _model.Tiny.Folder, "--text", missing);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal($"{missing}: error OOPT3002: The text file does not exist.\n", result.StdErr);
    }

    [Fact]
    public void EmptyText_IsTextInvalid()
    {
        string path = _model.Tiny.WriteText("empty.txt", " \n\n");
        var result = ToolProcess.Run("eval", _model.Tiny.Folder, "--text", path);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal($"{path}: error OOPT1022: The text file is empty.\n", result.StdErr);
    }

    [Fact]
    public void NonUtf8Text_IsTextInvalid_WithLineAndColumn()
    {
        byte[] bytes = "first line\nsecond \u00e9 line "u8.ToArray().Concat(new byte[] { 0xC3, 0x28, (byte)'x' }).ToArray();
        string path = _model.Tiny.WriteBytes("latin1.txt", bytes);
        var result = ToolProcess.Run("eval", _model.Tiny.Folder, "--text", path);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith($"{path}(2,15): error OOPT1022: The text file is not valid UTF-8 (byte 0xC3 at offset 26)", result.StdErr);
    }

    [Fact]
    public void TooShortText_IsTextTooShort()
    {
        using var noBos = TinyModel.Create(hidden: 16, layers: 1, heads: 2, kvHeads: 1, intermediate: 32, bos: false);
        string path = noBos.WriteText("short.txt", "a");
        var result = ToolProcess.Run("eval", noBos.Folder, "--text", path);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith($"{path}: error OOPT1023: ", result.StdErr);
    }

    [Fact]
    public void ContextLongerThanTheModel_IsAUsageError()
    {
        var result = ToolProcess.Run("eval", _model.Tiny.Folder, "--text", _model.TextPath, "--context", "100000");
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("error OOPT3005: --context 100000 is longer than this model supports", result.StdErr);
    }

    [Fact]
    public void MissingModel_ExitsOne_WithModelNotFound()
    {
        string missing = Path.Combine(_model.Tiny.Root, "nothing-here");
        var result = ToolProcess.Run("eval", missing, "--text", _model.TextPath);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal($"{missing}: error OOPT1001: The model folder does not exist.\n", result.StdErr);
    }

    private static string Line(string output, string key) =>
        output.Split('\n').FirstOrDefault(l => l.StartsWith(key + ":", StringComparison.Ordinal))
        ?? throw new Xunit.Sdk.XunitException($"No '{key}:' line in:\n{output}");
}
