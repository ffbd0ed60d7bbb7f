using System.Text.RegularExpressions;

namespace Optimizer.Tool.Tests;

/// <summary>--version, --help and usage errors: exit codes and the exact shape of the output.</summary>
public sealed class CommandLineTests
{
    [Fact]
    public void Version_PrintsSemanticVersion_ExitsZero()
    {
        var result = ToolProcess.Run("--version");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(new Regex(@"^\d+\.\d+\.\d+"), result.StdOut.Trim());
        Assert.Equal("", result.StdErr);
    }

    [Fact]
    public void RootHelp_ListsCommandsExitCodesAndExamples()
    {
        var result = ToolProcess.Run("--help");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("inspect", result.StdOut);
        Assert.Contains("eval", result.StdOut);
        Assert.Contains("Exit codes:", result.StdOut);
        Assert.Contains("2  command-line usage error", result.StdOut);
        Assert.Contains("--diagnostics", result.StdOut);
        Assert.Contains("Examples:", result.StdOut);
    }

    [Theory]
    [InlineData("inspect", "--json")]
    [InlineData("eval", "--max-tokens")]
    public void CommandHelp_DescribesOptionsAndExamples(string command, string option)
    {
        var result = ToolProcess.Run(command, "--help");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"dotnet outlier-opt {command}", result.StdOut);
        Assert.Contains(option, result.StdOut);
        Assert.Contains("Examples:", result.StdOut);
        Assert.Contains("--verbose", result.StdOut);
    }

    [Theory]
    [InlineData("OOPT3003", "inspect", "x", "--bogus")]
    [InlineData("OOPT3003", "frobnicate")]
    [InlineData("OOPT3004", "inspect")]
    [InlineData("OOPT3004", "eval", "model-folder")]
    [InlineData("OOPT3004")]
    [InlineData("OOPT3001", "eval", "model-folder", "--text")]
    [InlineData("OOPT3005", "eval", "model-folder", "--text", "t.txt", "--context", "zero")]
    [InlineData("OOPT3005", "eval", "model-folder", "--text", "t.txt", "--batch", "0")]
    [InlineData("OOPT3005", "eval", "model-folder", "--text", "t.txt", "--device", "tpu")]
    [InlineData("OOPT3005", "inspect", "x", "--diagnostics", "xml")]
    public void UsageErrors_ExitTwo_WithCodeAndHint_NoStackTrace(string code, params string[] args)
    {
        var result = ToolProcess.Run(args);
        Assert.True(result.ExitCode == 2, result.ToString());
        string[] lines = result.StdErr.TrimEnd('\n').Split('\n');
        Assert.Matches(new Regex($"^error {code}: \\S.*$"), lines[0]);
        Assert.Matches(new Regex(@"^Run 'dotnet outlier-opt( \w+)? --help' for usage\.$"), lines[1]);
        Assert.Equal(2, lines.Length);
        Assert.DoesNotContain("   at ", result.StdErr);
        Assert.Equal("", result.StdOut);
    }

    [Fact]
    public void UnknownOption_SuggestsTheNearestOption()
    {
        var result = ToolProcess.Run("inspect", "x", "--jsn");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'--jsn'", result.StdErr);
        Assert.Contains("did you mean '--json'?", result.StdErr);
    }

    [Fact]
    public void UsageError_InMsbuildMode_IsOneCanonicalLine()
    {
        var result = ToolProcess.Run("--diagnostics", "msbuild", "inspect", "x", "--bogus");
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Matches(new Regex(@"^error OOPT3003: [^\n]+\n$"), result.StdErr);
    }

    [Fact]
    public void GlobalOptions_AreAcceptedAfterTheCommand()
    {
        var result = ToolProcess.Run("inspect", "--help", "--quiet", "--diagnostics", "msbuild", "--verbose");
        Assert.True(result.ExitCode == 0, result.ToString());
    }
}
