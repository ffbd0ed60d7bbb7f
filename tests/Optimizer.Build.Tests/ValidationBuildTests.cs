namespace Optimizer.Build.Tests;

/// <summary>
/// Bad OptimizedModel items and a missing tool fail the build before anything runs, with an OOPT2xxx error that names
/// the item and the project file (real `dotnet build` of a temp project).
/// </summary>
public sealed class ValidationBuildTests
{
    [Theory]
    [InlineData("Format=\"onnx\"", "OOPT2011", "Format 'onnx'")]
    [InlineData("Format=\"safetensors\" Quantization=\"Q4_0\"", "OOPT2012", "Quantization 'Q4_0' is not valid for safetensors")]
    [InlineData("Quantization=\"IQ4_XS\"", "OOPT2012", "Quantization 'IQ4_XS' is not valid for gguf; use Q8_0, Q4_0, Q4_1, Q5_0")]
    [InlineData("Mitigations=\"norm,bogus\"", "OOPT2013", "Mitigations 'norm,bogus'")]
    [InlineData("Calibration=\"missing.txt\"", "OOPT2014", "'missing.txt' does not exist")]
    [InlineData("Embed=\"yes\"", "OOPT2016", "Embed 'yes'")]
    [InlineData("MaxPerplexityIncrease=\"two percent\"", "OOPT2017", "MaxPerplexityIncrease 'two percent'")]
    [InlineData("MaxKlDivergence=\"-0.1\"", "OOPT2018", "MaxKlDivergence '-0.1'")]
    [InlineData("OutputName=\"my model\"", "OOPT2020", "'my model'")]
    [InlineData("Imatrix=\"missing.imatrix.gguf\"", "OOPT2024", "the importance matrix 'missing.imatrix.gguf' does not exist")]
    [InlineData("ImatrixOut=\"yes\"", "OOPT2025", "ImatrixOut 'yes'")]
    [InlineData("Search=\"thorough\"", "OOPT2026", "Search 'thorough' is not valid; use quick or full")]
    public void BadMetadataValueFailsWithItsCodeNamingItemAndProject(string metadata, string code, string mention)
    {
        using var project = TempProject.Create("meta");
        Directory.CreateDirectory(Path.Combine(project.Folder, "model"));
        File.WriteAllText(Path.Combine(project.Folder, "model", "config.json"), "{}");
        project.WriteProject($"<OptimizedModel Include=\"model/\" {metadata} />");

        var result = project.Build();

        Assert.False(result.Succeeded, result.ToString());
        var error = Assert.Single(BuildLog.Errors(result));
        Assert.StartsWith($"{project.ProjectFile} : error {code}: OptimizedModel 'model/'", error);
        Assert.Contains(mention, error);
        Assert.Empty(BuildLog.Optimized(result));
        Assert.False(Directory.Exists(project.IntermediateFolder));
    }

    [Fact]
    public void MissingModelPathFailsWithOopt2010()
    {
        using var project = TempProject.Create("missing");
        project.WriteProject("<OptimizedModel Include=\"models/absent/\" Quantization=\"Q4_0\" />");

        var result = project.Build();

        Assert.False(result.Succeeded, result.ToString());
        var error = Assert.Single(BuildLog.Errors(result));
        Assert.Equal($"{project.ProjectFile} : error OOPT2010: OptimizedModel 'models/absent/': the model path "
            + $"'{Path.Combine(project.Folder, "models", "absent")}/' does not exist (expected a Hugging Face model folder or a .gguf file).", error);
    }

    [Fact]
    public void TwoItemsWithOneOutputNameFailWithOopt2021()
    {
        using var project = TempProject.Create("dup");
        string model = project.WriteModel("m");
        project.WriteProject($"<OptimizedModel Include=\"{model}\" /><OptimizedModel Include=\"{model}\" Quantization=\"Q4_0\" />");

        var result = project.Build();

        Assert.False(result.Succeeded, result.ToString());
        Assert.Contains(BuildLog.Errors(result), e => e.Contains("error OOPT2021: OptimizedModel items 'm/, m/' would all be written as 'm'", StringComparison.Ordinal));
    }

    [Fact]
    public void NoToolAnywhereFailsWithOopt2001SayingHowToInstall()
    {
        using var project = TempProject.Create("notool");
        string model = project.WriteModel("m");
        project.WriteProject($"<OptimizedModel Include=\"{model}\" />");

        var result = project.BuildWithoutTool();

        Assert.False(result.Succeeded, result.ToString());
        var error = Assert.Single(BuildLog.Errors(result));
        Assert.StartsWith($"{project.ProjectFile} : error OOPT2001: dotnet-outlier-opt was not found", error);
        Assert.Contains("dotnet tool install Optimizer.Tool", error);
        Assert.Contains("OutlierOptToolPath", error);
    }

    [Fact]
    public void ExplicitToolPathThatDoesNotExistFailsWithOopt2002()
    {
        using var project = TempProject.Create("badtool");
        string model = project.WriteModel("m");
        project.WriteProject($"<OptimizedModel Include=\"{model}\" />");

        var result = project.Build("-p:OutlierOptToolPath=tools/none/dotnet-outlier-opt.dll");

        Assert.False(result.Succeeded, result.ToString());
        var error = Assert.Single(BuildLog.Errors(result));
        Assert.Contains("error OOPT2002: dotnet-outlier-opt was set to '" + Path.Combine(project.Folder, "tools", "none", "dotnet-outlier-opt.dll")
            + "' by the OutlierOptToolPath property, but that file does not exist.", error);
    }

    [Fact]
    public void DisabledOrDesignTimeBuildsRunNothing()
    {
        using var project = TempProject.Create("off");
        project.WriteProject("<OptimizedModel Include=\"models/absent/\" />");

        Assert.True(project.Build("-p:OutlierOptEnabled=false").Succeeded);
        var designTime = project.Build("-p:DesignTimeBuild=true");
        Assert.True(designTime.Succeeded, designTime.ToString());
        Assert.False(Directory.Exists(project.IntermediateFolder));
    }
}
