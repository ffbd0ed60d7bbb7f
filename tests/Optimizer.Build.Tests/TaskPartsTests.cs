using Optimizer.Tasks;

namespace Optimizer.Build.Tests;

/// <summary>The task's MSBuild-free pieces: the diagnostics parser, the options file, the result file.</summary>
public sealed class TaskPartsTests
{
    [Theory]
    [InlineData("/m/model.safetensors(3,17): error OOPT1011: header is not JSON", "/m/model.safetensors", 3, 17, "OOPT1011", "header is not JSON")]
    [InlineData("/m/opts.json(5,1): error OOPT3031: bad", "/m/opts.json", 5, 1, "OOPT3031", "bad")]
    [InlineData("/m/config.json(7): error OOPT1003: x", "/m/config.json", 7, 0, "OOPT1003", "x")]
    [InlineData("/m/model.safetensors: error OOPT1010: truncated", "/m/model.safetensors", 0, 0, "OOPT1010", "truncated")]
    [InlineData("outlier-opt: error OOPT1160: gate: KL 0.2 above 0.1", "outlier-opt", 0, 0, "OOPT1160", "gate: KL 0.2 above 0.1")]
    [InlineData("error OOPT3005: --quant must be", "", 0, 0, "OOPT3005", "--quant must be")]
    public void CanonicalLinesParse(string line, string origin, int row, int column, string code, string message)
    {
        var diagnostic = CanonicalDiagnostic.TryParse(line);

        Assert.NotNull(diagnostic);
        Assert.Equal((origin, row, column, true, code, message),
            (diagnostic!.Origin, diagnostic.Line, diagnostic.Column, diagnostic.IsError, diagnostic.Code, diagnostic.Message));
    }

    [Theory]
    [InlineData("optimize: layer 3/6")]
    [InlineData("")]
    [InlineData("wrote /m/out/model.gguf (1.2 MB)")]
    public void OtherLinesAreNotDiagnostics(string line) => Assert.Null(CanonicalDiagnostic.TryParse(line));

    [Fact]
    public void WarningsParseAsWarnings()
    {
        var diagnostic = CanonicalDiagnostic.TryParse("/a/b.txt(1,2): warning OOPT1062: few tokens");
        Assert.False(diagnostic!.IsError);
    }

    [Fact]
    public void OptionsFileHasOneKeyPerLineInOrderSkipsEmptyValuesAndEscapes()
    {
        var options = new OptionsFile()
            .Add("model", "/models/a \"b\"\\c")
            .Add("format", "")
            .Add("quant", " Q4_0 ")
            .Add("calibration", new[] { "/d/1.txt", " ", "/d/2.txt" })
            .Add("device", (string?)null)
            .Add("evalText", "/d/e\tx.txt");

        Assert.Equal("{\n  \"model\": \"/models/a \\\"b\\\"\\\\c\",\n  \"quant\": \"Q4_0\",\n  \"calibration\": [\"/d/1.txt\", \"/d/2.txt\"],\n"
            + "  \"evalText\": \"/d/e\\tx.txt\"\n}\n", options.ToJson());
        Assert.Equal(new[] { "model", "quant", "calibration", "evalText" }, options.Keys);
        Assert.Null(options.KeyAtLine(1));
        Assert.Equal("model", options.KeyAtLine(2));
        Assert.Equal("evalText", options.KeyAtLine(5));
        Assert.Null(options.KeyAtLine(6));
    }

    [Fact]
    public void OptionsFileIsWrittenWholeWithoutTempLeftovers()
    {
        string folder = Directory.CreateTempSubdirectory("oopt-options-").FullName;
        try
        {
            string path = Path.Combine(folder, "m.options.json");
            File.WriteAllText(path, "old");
            new OptionsFile().Add("model", "/m").Write(path);
            Assert.Equal("{\n  \"model\": \"/m\"\n}\n", File.ReadAllText(path));
            Assert.Equal(new[] { "m.options.json" }, Directory.GetFiles(folder).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void ResultFileReadsOutputsEvaluationAndGate()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """
                {"schema":"outlier-opt-result/1","model":"m","outputs":[{"path":"/o/m.gguf","kind":"weights","bytes":42,"sha256":"ab"},
                {"path":"/o/m.manifest.json","kind":"manifest","bytes":7,"sha256":"cd"}],
                "evaluation":{"perplexity_original":3.1,"perplexity_optimized":3.2,"perplexity_increase":0.032,"kl_divergence":0.004},
                "gate":{"passed":false,"reason":"KL 0.004 above 0.001"}}
                """);
            var result = OptimizeResult.Read(path);
            Assert.Equal("m", result.Model);
            Assert.Equal(new[] { ("/o/m.gguf", "weights", 42L, "ab"), ("/o/m.manifest.json", "manifest", 7L, "cd") },
                result.Outputs.Select(o => (o.Path, o.Kind, o.Bytes, o.Sha256)));
            Assert.Equal((0.032, 0.004), (result.PerplexityIncrease!.Value, result.KlDivergence!.Value));
            Assert.False(result.GatePassed);
            Assert.Equal("KL 0.004 above 0.001", result.GateReason);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("{\"schema\":\"other/1\",\"outputs\":[]}")]
    [InlineData("{\"schema\":\"outlier-opt-result/1\",\"outputs\":[{\"path\":\"relative.gguf\"}]}")]
    [InlineData("not json")]
    public void ResultFileOfAnotherShapeIsRefused(string json)
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, json);
            Assert.Throws<InvalidDataException>(() => OptimizeResult.Read(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
