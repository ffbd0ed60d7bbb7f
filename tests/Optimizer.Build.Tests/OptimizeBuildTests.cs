namespace Optimizer.Build.Tests;

/// <summary>
/// Real `dotnet build` runs that optimize small synthetic models with the tool this build produced: outputs in bin/,
/// up-to-date skipping, per-model re-runs, embedding, clean, tool errors with file and code, and failed runs that leave
/// nothing behind.
/// </summary>
public sealed class OptimizeBuildTests
{
    /// <summary>Small analysis and evaluation sizes so that each optimization takes seconds.</summary>
    private const string Fast = "CalibrationTokens=\"128\" SequenceLength=\"64\" EvalTokens=\"128\" EvalText=\"eval.txt\"";

    [Fact]
    public void FirstBuildOptimizesSecondSkipsATouchedCalibrationFileOrAChangedOptionReRunsOnlyThatModelPublishCopiesAndCleanRemovesAll()
    {
        using var project = TempProject.Create("incremental");
        string m1 = project.WriteModel("m1", seed: 1);
        string m2 = project.WriteModel("m2", seed: 2);
        string c1 = project.WriteText("c1.txt", 0);
        string c2 = project.WriteText("c2.txt", 1);
        project.WriteText("eval.txt", 2);
        project.WriteProject($"""
            <OptimizedModel Include="{m1}" Quantization="Q8_0" Calibration="{c1}" {Fast} />
            <OptimizedModel Include="{m2}" Quantization="Q4_0" Mitigations="none" Calibration="{c2}" {Fast} />
            """);

        var first = project.Build();
        Assert.True(first.Succeeded, first.ToString());
        Assert.Equal(new[] { "m1/", "m2/" }, BuildLog.Optimized(first));
        Assert.Equal(new[] { "m1/m1.gguf", "m1/m1.manifest.json", "m2/m2.gguf", "m2/m2.manifest.json" },
            TempProject.FilesUnder(Path.Combine(project.OutputFolder, "models")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(project.IntermediateFolder, "m1", "m1.gguf")),
            File.ReadAllBytes(Path.Combine(project.OutputFolder, "models", "m1", "m1.gguf")));

        var second = project.Build();
        Assert.True(second.Succeeded, second.ToString());
        Assert.Empty(BuildLog.Optimized(second));
        Assert.True(BuildLog.Skipped(second), second.Output);

        File.SetLastWriteTimeUtc(Path.Combine(project.Folder, c1), DateTime.UtcNow.AddSeconds(2));
        var third = project.Build();
        Assert.True(third.Succeeded, third.ToString());
        Assert.Equal(new[] { "m1/" }, BuildLog.Optimized(third));
        Assert.True(BuildLog.Skipped(third), "m2 should have been skipped");

        project.WriteProject($"""
            <OptimizedModel Include="{m1}" Quantization="Q8_0" Calibration="{c1}" {Fast} />
            <OptimizedModel Include="{m2}" Quantization="Q8_0" Mitigations="none" Calibration="{c2}" {Fast} />
            """);
        var fourth = project.Build();
        Assert.True(fourth.Succeeded, fourth.ToString());
        Assert.Equal(new[] { "m2/" }, BuildLog.Optimized(fourth));

        string publishFolder = Path.Combine(project.Folder, "publish");
        var publish = project.Publish("-c", "Debug", "-o", publishFolder);
        Assert.True(publish.Succeeded, publish.ToString());
        Assert.Empty(BuildLog.Optimized(publish));
        Assert.Equal(new[] { "m1/m1.gguf", "m1/m1.manifest.json", "m2/m2.gguf", "m2/m2.manifest.json" },
            TempProject.FilesUnder(Path.Combine(publishFolder, "models")));

        var clean = project.Clean();
        Assert.True(clean.Succeeded, clean.ToString());
        Assert.Empty(TempProject.FilesUnder(Path.Combine(project.OutputFolder, "models")));
        Assert.False(Directory.Exists(project.IntermediateFolder));
    }

    [Fact]
    public void ImatrixOutAddsTheOptimizedModelsImportanceMatrixAndImatrixFeedsTheNextModelAndIsAnInput()
    {
        using var project = TempProject.Create("imatrix");
        string m = project.WriteModel("m", seed: 4);
        string c = project.WriteText("c.txt", 0);
        project.WriteText("eval.txt", 2);
        string firstItem = $"<OptimizedModel Include=\"{m}\" Quantization=\"F16\" Calibration=\"{c}\" Mitigations=\"none\" ImatrixOut=\"true\" {Fast} />";
        project.WriteProject(firstItem);

        var first = project.Build();
        Assert.True(first.Succeeded, first.ToString());
        Assert.Equal(new[] { "m/m.gguf", "m/m.imatrix.gguf", "m/m.manifest.json" }, TempProject.FilesUnder(Path.Combine(project.OutputFolder, "models")));
        byte[] imatrix = File.ReadAllBytes(Path.Combine(project.OutputFolder, "models", "m", "m.imatrix.gguf"));
        Assert.Equal("GGUF", System.Text.Encoding.ASCII.GetString(imatrix, 0, 4));
        Assert.Contains("imatrix.chunk_count", System.Text.Encoding.ASCII.GetString(imatrix));

        // the matrix of m's input model (mitigations none: the written weights are the input's) quantizes a second item
        File.WriteAllBytes(Path.Combine(project.Folder, "m.imatrix.gguf"), imatrix);
        project.WriteProject(firstItem + $"<OptimizedModel Include=\"{m}\" OutputName=\"m-q8\" Quantization=\"Q8_0\" Calibration=\"{c}\" Imatrix=\"m.imatrix.gguf\" {Fast} />");
        var second = project.Build();
        Assert.True(second.Succeeded, second.ToString());
        Assert.Contains("OutlierOpt: optimizing 'm/' (m-q8)", second.Output);
        Assert.DoesNotContain("OutlierOpt: optimizing 'm/' ->", second.Output);
        string q8 = System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(Path.Combine(project.OutputFolder, "models", "m-q8", "m-q8.gguf")));
        Assert.Contains("quantize.imatrix.file", q8);
        Assert.Contains("m.imatrix.gguf", q8);

        File.SetLastWriteTimeUtc(Path.Combine(project.Folder, "m.imatrix.gguf"), DateTime.UtcNow.AddSeconds(2));
        var third = project.Build();
        Assert.True(third.Succeeded, third.ToString());
        Assert.Contains("OutlierOpt: optimizing 'm/' (m-q8)", third.Output);
        Assert.True(BuildLog.Skipped(third), "m should have been skipped");
    }

    [Fact]
    public void FailedQualityGateLeavesNothingAndTheNextBuildRetriesThenEmbedGivesNamedResources()
    {
        using var project = TempProject.Create("gate");
        string m = project.WriteModel("m", seed: 3);
        project.WriteText("eval.txt");
        project.WriteProject($"<OptimizedModel Include=\"{m}\" Quantization=\"Q4_0\" Embed=\"true\" MaxKlDivergence=\"0\" {Fast} />");

        var failed = project.Build();
        Assert.False(failed.Succeeded, failed.ToString());
        var errors = BuildLog.Errors(failed);
        Assert.True(errors.Any(e => e.StartsWith($"{project.ProjectFile} : error OOPT1160: OptimizedModel 'm/': ", StringComparison.Ordinal)
            && e.Contains("KL divergence", StringComparison.Ordinal)), string.Join("\n", errors));
        Assert.Equal(new[] { "m.inputs.cache", "m.options.json" }, TempProject.FilesUnder(project.IntermediateFolder));

        project.WriteProject($"<OptimizedModel Include=\"{m}\" Quantization=\"Q4_0\" Embed=\"true\" {Fast} />");
        var retried = project.Build();
        Assert.True(retried.Succeeded, retried.ToString());
        Assert.Equal(new[] { "m/" }, BuildLog.Optimized(retried));
        Assert.Equal(new[] { "models/m/m.gguf", "models/m/m.manifest.json" }, project.ResourceNames());
        Assert.Empty(TempProject.FilesUnder(Path.Combine(project.OutputFolder, "models")));
    }

    [Fact]
    public void CorruptSafetensorsFailsWithTheEngineCodeAndFileAndLeavesNothing()
    {
        using var project = TempProject.Create("corrupt");
        string m = project.WriteModel("m", seed: 4);
        string weights = Path.Combine(project.Folder, "m", "model.safetensors");
        using (var stream = new FileStream(weights, FileMode.Open)) stream.SetLength(stream.Length / 2);
        project.WriteText("eval.txt");
        project.WriteProject($"<OptimizedModel Include=\"{m}\" {Fast} />");

        var result = project.Build();

        Assert.False(result.Succeeded, result.ToString());
        var error = Assert.Single(BuildLog.Errors(result));
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(error, $@"^{System.Text.RegularExpressions.Regex.Escape(weights)}(\(\d+,\d+\))? ?: error OOPT101\d: "), error);
        Assert.False(Directory.Exists(Path.Combine(project.IntermediateFolder, "m")));
        Assert.False(File.Exists(Path.Combine(project.IntermediateFolder, "m.result.json")));
    }
}
