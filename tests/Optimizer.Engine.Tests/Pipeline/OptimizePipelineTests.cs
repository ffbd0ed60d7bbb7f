using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Manifest;
using Optimizer.Engine.Pipeline;
using Optimizer.Engine.Transforms;
using Optimizer.Engine.Tests.Manifest;

namespace Optimizer.Engine.Tests.Pipeline;

/// <summary>
/// The optimize pipeline end to end on the planted synthetic model: outputs and manifest, exactness of the exact
/// transforms, the planted outliers gone from the census after transforms, every variant evaluated, determinism.
/// </summary>
[Collection(OptimizeCollection.Name)]
public sealed class OptimizePipelineTests
{
    private readonly OptimizeFixture _fixture;

    public OptimizePipelineTests(OptimizeFixture fixture) => _fixture = fixture;

    [Fact]
    public void Writes_a_gguf_and_a_schema_valid_manifest_that_matches_its_snapshot()
    {
        var (result, output) = _fixture.Main;
        Assert.True(result.Gate.Passed);
        string gguf = Path.Combine(output, OptimizeFixture.Preset + ".gguf");
        string manifestPath = Path.Combine(output, OptimizeFixture.Preset + OutputStage.ManifestSuffix);
        Assert.Equal(new[] { gguf, manifestPath }, result.Outputs.Select(o => o.Path));
        Assert.Equal(new[] { "weights", "manifest" }, result.Outputs.Select(o => o.Kind));
        foreach (var o in result.Outputs)
        {
            Assert.Equal(new FileInfo(o.Path).Length, o.Bytes);
            Assert.Equal(ModelFileHashes.Sha256(o.Path), o.Sha256);
        }
        Assert.Equal(2, Directory.EnumerateFileSystemEntries(output).Count());

        using (var file = GgufFile.Open(gguf)) Assert.NotEmpty(file.Tensors);
        string text = File.ReadAllText(manifestPath);
        var errors = ManifestSchemaValidator.Errors(text);
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(10)));
        Assert.DoesNotContain(_fixture.Root, text);
        Assert.Equal(ManifestWriter.ToText(result.Manifest!), text);
        var outputs = Assert.IsAssignableFrom<IReadOnlyList<ManifestOutput>>(result.Manifest!.Outputs);
        Assert.Equal(OptimizeFixture.Preset + ".gguf", Assert.Single(outputs).Path);
        Assert.All(result.Manifest.Quantization!.Tensors, t => Assert.True(t.RelativeRmse < 0.05, $"{t.Name}: {t.RelativeRmse}"));
        ManifestSnapshot.Match(text);
    }

    [Fact]
    public void Exact_transforms_leave_the_logits_unchanged_and_are_recorded()
    {
        var (result, _) = _fixture.Main;
        Assert.True(result.MaxAbsDeltaLogit <= 1e-3, $"max |dlogit| {result.MaxAbsDeltaLogit}");
        ManifestTransforms transforms = result.Manifest!.Transforms!;
        Assert.Equal(new[] { "norm", "smooth", "otc", "tma", "tma-clamp" }, transforms.Mitigations);
        Assert.Equal(transforms.Mitigations, transforms.Applied.Select(a => a.Name));
        Assert.All(transforms.Applied.Where(a => a.Name != "tma-clamp"), a => Assert.True(a.Exact && a.Status == TransformEntry.Kept));
        Assert.Contains(transforms.Applied, a => a.Name == "norm" && a.Touched.Count > 0);
        Assert.Contains(transforms.Applied, a => a.Name == "tma" && a.Touched.Any(t => t.Layer == _fixture.Truth.MassiveActivation!.BirthLayer));
        var clamp = transforms.Applied.Single(a => a.Name == "tma-clamp");
        Assert.False(clamp.Exact);
        if (transforms.ClampGate is { } gate)
            Assert.Equal(gate.Kept ? TransformEntry.Kept : TransformEntry.RolledBack, clamp.Status);
    }

    [Fact]
    public void Planted_outliers_are_gone_from_the_census_after_transforms()
    {
        var (result, _) = _fixture.Main;
        OutlierManifest m = result.Manifest!;
        double Before(int layer, string site) => m.Census.Single(c => c.Layer == layer && c.Site == site).MaxAbs;
        double After(int layer, string site) => m.CensusAfter!.Single(c => c.Layer == layer && c.Site == site).MaxAbs;

        // The planted super activation at y6 of the birth layer is smoothed into down_proj (TMA smoothing).
        int birth = _fixture.Truth.MassiveActivation!.BirthLayer;
        Assert.True(After(birth, "y6") < Before(birth, "y6") / 4, $"y6: {Before(birth, "y6")} -> {After(birth, "y6")}");
        // The γ outlier channels of layer 2's input norm are flattened (folded into q/k/v).
        var gamma = _fixture.Truth.GammaOutliers[0];
        Assert.True(After(gamma.Layer, gamma.Site) < Before(gamma.Layer, gamma.Site) / 2,
            $"{gamma.Site}: {Before(gamma.Layer, gamma.Site)} -> {After(gamma.Layer, gamma.Site)}");
        // The residual stream is untouched by exact transforms: its massive activation is still there.
        Assert.Equal(Before(birth, "y8"), After(birth, "y8"), 2);
    }

    [Fact]
    public void Every_candidate_and_variant_is_evaluated_and_the_best_mitigated_candidate_is_written()
    {
        var (result, _) = _fixture.Main;
        // Q8_0 ignores an importance matrix, so no imatrix candidates (they would store the stock bytes).
        Assert.Equal(new[] { "original", "transformed", "stock", "compensated", "mitigated", "mitigated-compensated",
            "w8a8-static", "w4a8-dynamic", "w8a8-static-unmitigated", "w4a8-dynamic-unmitigated" }, result.Variants.Select(v => v.Name));
        var candidates = result.Variants.Where(v => v.Candidate).ToArray();
        Assert.Equal(new[] { "stock", "compensated", "mitigated", "mitigated-compensated" }, candidates.Select(c => c.Name));
        VariantResult written = Assert.Single(candidates, c => c.Selected);
        // An explicit mitigation list: only the mitigated candidates may win; the better of the two (or the simpler on a tie).
        Assert.True(written.Mitigated);
        double best = candidates.Where(c => c.Mitigated).Min(c => c.KlDivergence);
        Assert.True(written.KlDivergence <= best * (1 + CandidateSelection.TieTolerance), $"{written.Name} {written.KlDivergence} vs best {best}");
        Assert.Equal(result.Selection!.Selected, written.Name);
        SelectionRecord selection = result.Manifest!.Evaluation!.Selection!;
        Assert.Equal(("full", "explicit", written.Name), (selection.Search, selection.Mitigations, selection.Selected));
        Assert.Equal(candidates.Single(c => c.Name == "stock").TensorBytes, candidates.Single(c => c.Name == "compensated").TensorBytes);
        Assert.All(result.Variants, v => Assert.True(double.IsFinite(v.Perplexity) && v.Perplexity > 1 && v.Tokens > 0, v.Name));
        VariantResult original = result.Variants[0], transformed = result.Variants[1];
        Assert.Equal(0, original.KlDivergence);
        Assert.True(transformed.KlDivergence < 1e-6, $"transformed KLD {transformed.KlDivergence}");
        Assert.Equal(original.Perplexity, transformed.Perplexity, 3);
        Assert.False(result.Variants.Single(v => v.Name == "stock").Mitigated);
        ManifestEvaluation evaluation = result.Manifest!.Evaluation!;
        Assert.Equal("text", evaluation.Text.Source);
        Assert.Equal("eval.txt", Assert.Single(evaluation.Text.Files).Path);
        Assert.Equal(result.Variants.Select(v => v.Name), evaluation.Variants.Select(v => v.Name));
        Assert.True(evaluation.Gate.Passed);
        Assert.Equal(written.FileBytes, result.Outputs[0].Bytes);
        Assert.All(result.Variants.Where(v => !v.Selected && v.Name != "original"), v => Assert.Null(v.FileBytes));
    }

    [Fact]
    public void The_manifest_reader_loads_every_section_of_an_optimize_manifest()
    {
        var (result, _) = _fixture.Main;
        OutlierManifest read = ManifestReader.Load(result.Outputs[^1].Path);
        // Every section, the optimize ones included, reads back to the same manifest text.
        Assert.Equal(ManifestWriter.ToText(result.Manifest!), ManifestWriter.ToText(read));
        Assert.Equal(result.Manifest!.Evaluation!.Selection, read.Evaluation!.Selection);
    }

    [Fact]
    public void Safetensors_int4_output_is_a_model_folder_that_opens_again()
    {
        string output = _fixture.NewOutput("safetensors");
        OptimizeResult result = OptimizePipeline.Run(_fixture.Options(output) with
        {
            Format = OutputFormat.Safetensors, Quant = "int4", Mitigations = "norm,otc,tma", OutputName = "planted-int4",
        });

        string folder = Path.Combine(output, "planted-int4");
        Assert.Equal(Path.Combine(output, "planted-int4.manifest.json"), result.Outputs[^1].Path);
        Assert.Contains(result.Outputs, o => o.Kind == ManifestOutput.Weights && o.RelativePath == "planted-int4/model.safetensors");
        Assert.Contains(result.Outputs, o => o.Kind == ManifestOutput.Config && o.RelativePath == "planted-int4/config.json");
        Assert.Contains(result.Outputs, o => o.Kind == ManifestOutput.Tokenizer);
        Assert.All(result.Outputs, o => Assert.Equal(ModelFileHashes.Sha256(o.Path), o.Sha256));
        ManifestQuantization quantization = result.Manifest!.Quantization!;
        Assert.Equal(("safetensors", "int4", (int?)32), (quantization.Format, quantization.Recipe, quantization.GroupSize));
        Assert.Contains(quantization.Tensors, t => t.Type == "int4-g32" && t.RelativeRmse > 0);
        Assert.Equal(new[] { "norm", "otc", "tma" }, result.Manifest.Transforms!.Mitigations);
        Assert.Null(result.Manifest.Transforms.ClampGate);
        Assert.Equal("planted-int4", result.Manifest.Model.Name);
        using var reopened = ModelFolder.Open(folder);
        Assert.Equal(_fixture.Truth.Model.HiddenSize, reopened.Config.HiddenSize);
    }

    [Fact]
    public void A_gguf_file_is_optimized_like_a_model_folder()
    {
        var (main, _) = _fixture.Main;
        string input = Path.Combine(_fixture.NewOutput("gguf-input"), "planted.gguf");
        Directory.CreateDirectory(Path.GetDirectoryName(input)!);
        File.Copy(main.Outputs[0].Path, input);
        string output = _fixture.NewOutput("from-gguf");

        OptimizeResult result = OptimizePipeline.Run(_fixture.Options(output) with { Model = input, Quant = "F16", Mitigations = "none" });

        Assert.Equal("planted", result.OutputName);
        Assert.Equal(Path.Combine(output, "planted.gguf"), result.Outputs[0].Path);
        Assert.Equal("planted", result.Manifest!.Model.Name);
        Assert.Contains(result.Manifest.Model.Files, f => f.Path == "planted.gguf" && f.Sha256 == main.Outputs[0].Sha256);
        Assert.Equal(0, result.MaxAbsDeltaLogit);
        Assert.Empty(result.Manifest.Transforms!.Applied);
        Assert.All(result.Manifest.Quantization!.Tensors, t => Assert.Contains(t.Type, new[] { "F16", "F32" }));
        using (var file = GgufFile.Open(result.Outputs[0].Path)) Assert.NotEmpty(file.Tensors);
    }

    [Theory]
    [InlineData(1000.0)]
    [InlineData(0.0)]
    public void The_approximate_clamp_is_kept_only_within_its_perplexity_budget(double budget)
    {
        // Clamping the birth layer's super activation (not smoothed first) changes the model; the gate measures by how much.
        string output = _fixture.NewOutput("clamp");
        OptimizeResult result = OptimizePipeline.Run(_fixture.Options(output) with
        {
            Mitigations = "tma-clamp", MaxPplIncrease = budget, TransformSettings = new TransformOptions { ClampBirthSite = true },
        });

        ManifestTransforms transforms = result.Manifest!.Transforms!;
        ClampGateRecord gate = Assert.IsType<ClampGateRecord>(transforms.ClampGate);
        TransformEntry clamp = transforms.Applied.Single(a => a.Name == "tma-clamp");
        Assert.Equal(budget, gate.Limit);
        Assert.True(gate.Increase > 0, $"clamp changed perplexity by {gate.Increase}");
        Assert.Equal(gate.Increase <= budget, gate.Kept);
        Assert.Equal(gate.Kept ? TransformEntry.Kept : TransformEntry.RolledBack, clamp.Status);
        Assert.NotEmpty(clamp.Touched);
        int birth = _fixture.Truth.MassiveActivation!.BirthLayer;
        double y8After = result.Manifest.CensusAfter!.Single(c => c.Layer == birth && c.Site == "y8").MaxAbs;
        double y8Before = result.Manifest.Census.Single(c => c.Layer == birth && c.Site == "y8").MaxAbs;
        if (gate.Kept)
        {
            Assert.True(y8After < y8Before / 2, $"y8 {y8Before} -> {y8After}");
        }
        else
        {
            Assert.Equal(y8Before, y8After, 2);
            Assert.Contains(result.Warnings, w => w.StartsWith("tma-clamp rolled back", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Without_eval_text_the_model_samples_its_own_with_another_seed_and_says_so()
    {
        string output = _fixture.NewOutput("self-eval");
        OptimizeResult result = OptimizePipeline.Run(_fixture.Options(output) with { EvalText = null, EvalTokens = 47, Seed = 7, Mitigations = "none" });

        EvaluationTextRecord text = result.Manifest!.Evaluation!.Text;
        Assert.Equal("self-sampled", text.Source);
        Assert.Equal(8, text.Seed);
        Assert.Empty(text.Files);
        Assert.Equal(47, text.Tokens);
        Assert.All(result.Variants, v => Assert.Equal(47, v.Tokens));
    }

    [Fact]
    public void Two_runs_write_byte_identical_weights_and_manifests()
    {
        var (first, _) = _fixture.Main;
        string output = _fixture.NewOutput("again");
        OptimizeResult second = OptimizePipeline.Run(_fixture.Options(output));
        Assert.Equal(first.Outputs.Select(o => (o.RelativePath, o.Sha256)), second.Outputs.Select(o => (o.RelativePath, o.Sha256)));
        for (int i = 0; i < first.Outputs.Count; i++)
            Assert.Equal(File.ReadAllBytes(first.Outputs[i].Path), File.ReadAllBytes(second.Outputs[i].Path));
    }
}
