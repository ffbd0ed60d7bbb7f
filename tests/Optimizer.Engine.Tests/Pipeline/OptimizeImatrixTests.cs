using Optimizer.Engine.Calibration;
using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Manifest;
using Optimizer.Engine.Pipeline;
using Optimizer.Engine.Quantization.Imatrix;

namespace Optimizer.Engine.Tests.Pipeline;

/// <summary>
/// The optimize pipeline with importance matrices: --imatrix-out writes the matrix collected on the transformed model
/// (deterministically, without changing the weights); --imatrix reads one, checks it against the model before anything
/// runs, carries it over the transforms and hands it to the evaluated round trip and the exporter.
/// </summary>
[Collection(OptimizeCollection.Name)]
public sealed class OptimizeImatrixTests(OptimizeFixture fixture)
{
    /// <summary>The importance matrix of the original model over the fixture's calibration text (what `analyze --imatrix-out` writes).</summary>
    private string OriginalImatrix(string name)
    {
        using var folder = ModelFolder.Open(fixture.Model);
        var options = fixture.Options(fixture.NewOutput("unused"));
        var calibration = new CalibrationOptions { Paths = options.Calibration, SequenceLength = options.SequenceLength, Tokens = options.CalibrationTokens };
        var analysis = AnalysisRunner.Run(folder, calibration, new AnalysisOptions { ImportanceMatrix = true, BatchSize = options.BatchSize });
        string path = Path.Combine(fixture.Root, name);
        ImatrixFile.Write(path, ImportanceCollection.FromAnalysis(analysis));
        return path;
    }

    [Fact]
    public void Imatrix_out_writes_the_matrix_of_the_written_weights_and_leaves_the_weights_unchanged()
    {
        var (main, _) = fixture.Main;
        string output = fixture.NewOutput("imatrix-out");
        string imatrix = Path.Combine(fixture.Root, "collected-" + Guid.NewGuid().ToString("N")[..6], "model.imatrix.gguf");
        OptimizeResult result = OptimizePipeline.Run(fixture.Options(output) with { ImatrixOut = imatrix });

        Assert.Equal(new[] { ManifestOutput.Weights, ManifestOutput.Imatrix, ManifestOutput.Manifest }, result.Outputs.Select(o => o.Kind));
        OptimizeOutput written = result.Outputs[1];
        Assert.Equal((Path.GetFullPath(imatrix), "model.imatrix.gguf"), (written.Path, written.RelativePath));
        Assert.Equal((new FileInfo(imatrix).Length, ModelFileHashes.Sha256(imatrix)), (written.Bytes, written.Sha256));
        // the weights and the manifest are those of the run without --imatrix-out; the manifest does not list the matrix
        Assert.Equal(main.Outputs[0].Sha256, result.Outputs[0].Sha256);
        Assert.Equal(main.Outputs[^1].Sha256, result.Outputs[^1].Sha256);
        Assert.Null(result.Importance);

        ImportanceMatrix collected = Assert.IsType<ImportanceMatrix>(result.CollectedImportance);
        ImportanceMatrix read = ImatrixFile.Read(imatrix);
        using (var folder = ModelFolder.Open(fixture.Model)) read.CheckFits(folder.Config);
        Assert.Equal((2, 48), (read.ChunkCount, read.ChunkSize));
        Assert.Equal(new[] { "calibration.txt" }, read.Datasets);
        Assert.Equal(collected.Entries.Select(e => e.Name), read.Entries.Select(e => e.Name));
        foreach (var (a, b) in collected.Entries.Zip(read.Entries))
        {
            Assert.Equal(a.SumSquares.ToArray(), b.SumSquares.ToArray());
            Assert.Equal(a.Sums.ToArray(), b.Sums.ToArray());
            Assert.Equal(new[] { 96L }, b.Counts.ToArray());
        }

        // deterministic: a second run writes the same bytes
        string again = Path.Combine(fixture.Root, "again-" + Guid.NewGuid().ToString("N")[..6] + ".gguf");
        OptimizePipeline.Run(fixture.Options(fixture.NewOutput("imatrix-out-2")) with { ImatrixOut = again });
        Assert.Equal(File.ReadAllBytes(imatrix), File.ReadAllBytes(again));
    }

    [Fact]
    public void A_given_imatrix_is_carried_over_the_transforms_and_recorded_in_the_gguf()
    {
        OptimizeResult main = OptimizePipeline.Run(fixture.Options(fixture.NewOutput("mitigated")) with { Candidates = new[] { "mitigated" } });
        string imatrix = OriginalImatrix("original.imatrix.gguf");
        string output = fixture.NewOutput("imatrix-in");
        OptimizeResult result = OptimizePipeline.Run(fixture.Options(output) with { Imatrix = imatrix, Candidates = new[] { "mitigated-imatrix" } });

        ImportanceMatrix used = Assert.IsType<ImportanceMatrix>(result.Importance);
        ImportanceMatrix given = ImatrixFile.Read(imatrix);
        Assert.Equal(imatrix, used.Source);
        // the γ outliers of the fixture are flattened into q/k/v: their importance is rescaled; attn_output's follows the
        // o/v smoothing exactly when that group of the layer was smoothed (docs/smoothing.md)
        int layer = fixture.Truth.GammaOutliers[0].Layer;
        string q = $"blk.{layer}.attn_q.weight", o = $"blk.{layer}.attn_output.weight";
        Assert.NotEqual(given.GetQuantWeights(q), used.GetQuantWeights(q));
        bool oSmoothed = result.Manifest!.Transforms!.Applied.Single(a => a.Name == "smooth").Touched.Any(t => t.Layer == layer && t.Target == "v_o");
        Assert.Equal(oSmoothed, !given.GetQuantWeights(o).SequenceEqual(used.GetQuantWeights(o)));
        Assert.Contains(result.Warnings, w => w.Contains("Q8_0 does not use an importance matrix", StringComparison.Ordinal));

        // Q8_0 ignores the importance (as ggml does): the same tensors, plus llama-quantize's provenance keys
        using var withImatrix = GgufFile.Open(result.Outputs[0].Path);
        using var without = GgufFile.Open(main.Outputs[0].Path);
        Assert.Equal(without.Tensors.Select(t => (t.Name, t.Type)), withImatrix.Tensors.Select(t => (t.Name, t.Type)));
        foreach (var t in without.Tensors) Assert.True(without.GetSpan(t).SequenceEqual(withImatrix.GetSpan(withImatrix.Find(t.Name)!)), t.Name);
        var meta = withImatrix.Metadata;
        Assert.Equal("original.imatrix.gguf", meta.GetString("quantize.imatrix.file"));
        Assert.Equal("calibration.txt", meta.GetString("quantize.imatrix.dataset"));
        Assert.Equal((long)given.Entries.Count, meta.GetInteger("quantize.imatrix.entries_count"));
        Assert.Equal(2L, meta.GetInteger("quantize.imatrix.chunks_count"));
        Assert.Equal(
            without.Metadata.Entries.Select(e => e.Key).Concat(new[] { "quantize.imatrix.file", "quantize.imatrix.dataset", "quantize.imatrix.entries_count", "quantize.imatrix.chunks_count" }),
            meta.Entries.Select(e => e.Key));
    }

    [Fact]
    public void Importance_weighted_q4_0_writes_other_block_codes_than_without()
    {
        string imatrix = OriginalImatrix("q4.imatrix.gguf");
        string withOutput = fixture.NewOutput("imatrix-q4");
        string withoutOutput = fixture.NewOutput("plain-q4");
        OptimizeResult with = OptimizePipeline.Run(fixture.Options(withOutput) with { Imatrix = imatrix, Quant = "Q4_0", Mitigations = "none", Candidates = new[] { "imatrix" } });
        OptimizeResult without = OptimizePipeline.Run(fixture.Options(withoutOutput) with { Quant = "Q4_0", Mitigations = "none", Candidates = new[] { "stock" } });
        string Weights(OptimizeResult r) => r.Outputs.Single(o => o.Kind == ManifestOutput.Weights).Path;
        using var a = GgufFile.Open(Weights(with));
        using var b = GgufFile.Open(Weights(without));
        string q = "blk.0.attn_q.weight";
        Assert.Equal(a.Find(q)!.Type, b.Find(q)!.Type);
        Assert.False(a.GetSpan(a.Find(q)!).SequenceEqual(b.GetSpan(b.Find(q)!)));
        Assert.Contains(a.Metadata.Entries, e => e.Key == "quantize.imatrix.file");
    }

    [Fact]
    public void A_matrix_of_another_model_fails_before_the_analysis_naming_file_and_tensor()
    {
        using var folder = ModelFolder.Open(fixture.Model);
        var expected = ImportanceMatrix.ExpectedTensors(folder.Config).Where(t => t.Required).ToList();
        ImatrixEntry Entry(string name, int columns) => new(name, Enumerable.Repeat(1f, columns).ToArray(), default, new long[] { 10 });
        var cases = new (string File, IEnumerable<ImatrixEntry> Entries, string Code, string Tensor)[]
        {
            ("missing.gguf", expected.Skip(1).Select(t => Entry(t.Name, t.Columns)), ErrorCodes.ImatrixTensorMissing, expected[0].Name),
            ("unknown.gguf", expected.Select(t => Entry(t.Name, t.Columns)).Append(Entry("blk.99.attn_q.weight", 4)), ErrorCodes.ImatrixTensorUnknown, "blk.99.attn_q.weight"),
            ("short.gguf", expected.Select(t => Entry(t.Name, t.Name == expected[3].Name ? t.Columns - 1 : t.Columns)), ErrorCodes.ImatrixLengthMismatch, expected[3].Name),
        };
        foreach (var (file, entries, code, tensor) in cases)
        {
            string path = Path.Combine(fixture.Root, file);
            ImatrixFile.Write(path, new ImportanceMatrix(entries, 1, 48, Array.Empty<string>()));
            var ex = Assert.Throws<OptimizerException>(() => OptimizePipeline.Run(fixture.Options(fixture.NewOutput("bad")) with { Imatrix = path }));
            Assert.Equal((code, path), (ex.Code, ex.File));
            Assert.Contains(tensor, ex.Message);
        }
        var missingFile = Assert.Throws<OptimizerException>(() => OptimizePipeline.Run(fixture.Options(fixture.NewOutput("bad")) with { Imatrix = Path.Combine(fixture.Root, "none.gguf") }));
        Assert.Equal(ErrorCodes.ImatrixFileUnreadable, missingFile.Code);
    }

    [Fact]
    public void Imatrix_options_are_validated()
    {
        string output = fixture.NewOutput("validate");
        var options = fixture.Options(output);
        var ex = Assert.Throws<OptimizerException>(() => (options with { Imatrix = "x.gguf", Format = OutputFormat.Safetensors, Quant = "int8" }).Validate());
        Assert.Equal(ErrorCodes.OptimizeOptionInvalid, ex.Code);
        ex = Assert.Throws<OptimizerException>(() => (options with { Imatrix = " " }).Validate());
        Assert.Equal(ErrorCodes.OptimizeOptionInvalid, ex.Code);
        ex = Assert.Throws<OptimizerException>(() => (options with { ImatrixOut = options.WeightsPath }).Validate());
        Assert.Equal(ErrorCodes.OptimizeOutputInvalid, ex.Code);
        ex = Assert.Throws<OptimizerException>(() => (options with { ImatrixOut = Path.Combine(output, OptimizeFixture.Preset + OutputStage.ManifestSuffix) }).Validate());
        Assert.Equal(ErrorCodes.OptimizeOutputInvalid, ex.Code);
        ex = Assert.Throws<OptimizerException>(() => (options with { Imatrix = "m.gguf", ImatrixOut = "m.gguf" }).Validate());
        Assert.Equal(ErrorCodes.OptimizeOutputInvalid, ex.Code);
        ex = Assert.Throws<OptimizerException>(() => (options with { Imatrix = "m.gguf", ImportanceMatrix = ImatrixFileSample() }).Validate());
        Assert.Equal(ErrorCodes.OptimizeOptionInvalid, ex.Code);
        (options with { ImatrixOut = Path.Combine(output, "model.imatrix.gguf"), Format = OutputFormat.Safetensors, Quant = "int8" }).Validate();
    }

    private static ImportanceMatrix ImatrixFileSample() => Tests.Quantization.Imatrix.ImatrixFileTests.Sample();
}
