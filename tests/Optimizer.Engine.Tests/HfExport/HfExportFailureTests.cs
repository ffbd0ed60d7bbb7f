using System.Diagnostics;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.HfExport;

namespace Optimizer.Engine.Tests.HfExport;

/// <summary>After any failure the output folder is complete or absent, an old one is untouched, and nothing temporary remains.</summary>
public sealed class HfExportFailureTests : IDisposable
{
    private readonly ExportFolder _temp = new();

    [Theory]
    [InlineData(HfWeightFormat.Float, 1)]
    [InlineData(HfWeightFormat.Int4, 9)]
    public void AProducerThatThrowsMidwayLeavesNoOutput(HfWeightFormat format, int failAt)
    {
        using var source = ExportModels.Write(_temp.Model);
        using var model = ModelFolder.Open(_temp.Model);
        using var failing = new FailingTensorSource(model.Weights, failAt);
        var options = new HfExportOptions { Format = format, MaxShardBytes = 30_000 };
        var ex = Assert.Throws<InvalidOperationException>(() => HfFolderExporter.Export(model, failing, options, _temp.Output("x")));
        Assert.Equal(FailingTensorSource.Message, ex.Message);
        Assert.Empty(ExportModels.Listing(_temp.Outputs));
    }

    [Fact]
    public void AFailedExportLeavesAnExistingOutputUntouchedAndASuccessfulOneReplacesIt()
    {
        using var source = ExportModels.Write(_temp.Model);
        using var model = ModelFolder.Open(_temp.Model);
        string target = _temp.Output("x");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "old.txt"), "old");

        using (var failing = new FailingTensorSource(model.Weights, 20))
            Assert.Throws<InvalidOperationException>(() => HfFolderExporter.Export(model, failing, new HfExportOptions { Format = HfWeightFormat.Int8 }, target));
        Assert.Equal(new[] { "x" }, ExportModels.Listing(_temp.Outputs));
        Assert.Equal(new[] { "old.txt" }, ExportModels.Listing(target));
        Assert.Equal("old", File.ReadAllText(Path.Combine(target, "old.txt")));

        var result = HfFolderExporter.Export(model, model.Weights, new HfExportOptions { Format = HfWeightFormat.Int8 }, target);
        Assert.Equal(new[] { "x" }, ExportModels.Listing(_temp.Outputs));
        Assert.Equal(result.Files.Select(f => f.RelativePath), ExportModels.Listing(target));
    }

    [Fact]
    public void AQuantizationErrorNamesTheTensorAndLeavesNoOutput()
    {
        string up = LlamaTensorNames.Name(TensorRole.Up, 1);
        using var source = ExportModels.Write(_temp.Model, edit: (role, layer, values) =>
        {
            if (role == TensorRole.Up && layer == 1) values[77] = float.PositiveInfinity;
        });
        using var model = ModelFolder.Open(_temp.Model);
        var ex = Assert.Throws<OptimizerException>(() => HfFolderExporter.Export(model, model.Weights, new HfExportOptions { Format = HfWeightFormat.Int8 }, _temp.Output("x")));
        Assert.Equal(ErrorCodes.IntQuantNonFinite, ex.Code);
        Assert.Contains(up, ex.Message);
        Assert.Empty(ExportModels.Listing(_temp.Outputs));
    }

    [Fact]
    public void AWeightBeyondF16IsRefusedForF16ButNotForBF16()
    {
        string norm = LlamaTensorNames.Name(TensorRole.FfnNorm, 0);
        using var source = ExportModels.Write(_temp.Model, edit: (role, layer, values) =>
        {
            if (role == TensorRole.FfnNorm && layer == 0) values[5] = 70000f;
        });
        using var model = ModelFolder.Open(_temp.Model);
        var ex = Assert.Throws<OptimizerException>(() => HfFolderExporter.Export(model, model.Weights, new HfExportOptions { FloatDType = DType.F16 }, _temp.Output("x")));
        Assert.Equal(ErrorCodes.FloatExportOverflow, ex.Code);
        Assert.Contains(norm, ex.Message);
        Assert.Empty(ExportModels.Listing(_temp.Outputs));
        HfFolderExporter.Export(model, model.Weights, new HfExportOptions { FloatDType = DType.BF16 }, _temp.Output("x"));
        Assert.Equal(new[] { "x" }, ExportModels.Listing(_temp.Outputs));
    }

    [Fact]
    public void CancellationLeavesNoOutput()
    {
        using var source = ExportModels.Write(_temp.Model);
        using var model = ModelFolder.Open(_temp.Model);
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress<HfExportProgress>(p => { if (p.Done == 3) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            HfFolderExporter.Export(model, model.Weights, new HfExportOptions { Format = HfWeightFormat.Int4 }, _temp.Output("x"), progress, cts.Token));
        Assert.Empty(ExportModels.Listing(_temp.Outputs));
    }

    [Fact]
    public void AReadOnlyParentFolderIsOutputNotWritableAndStaysEmpty()
    {
        using var source = ExportModels.Write(_temp.Model);
        using var model = ModelFolder.Open(_temp.Model);
        string locked = _temp.Output("locked");
        Directory.CreateDirectory(locked);
        Chattr("+i", locked);
        try
        {
            Assert.Throws<UnauthorizedAccessException>(() => File.WriteAllText(Path.Combine(locked, "probe"), "x")); // the flag works
            var ex = Assert.Throws<OptimizerException>(() =>
                HfFolderExporter.Export(model, model.Weights, new HfExportOptions(), Path.Combine(locked, "x")));
            Assert.Equal(ErrorCodes.OutputNotWritable, ex.Code);
            Assert.Empty(ExportModels.Listing(locked));
        }
        finally
        {
            Chattr("-i", locked);
        }
    }

    [Fact]
    public void UnusableOutputPathsAreRefused()
    {
        using var source = ExportModels.Write(_temp.Model);
        using var model = ModelFolder.Open(_temp.Model);
        var options = new HfExportOptions();
        Assert.Equal(ErrorCodes.HfExportOutputInvalid, Code(() => HfFolderExporter.Export(model, model.Weights, options, _temp.Model)));
        Assert.Equal(ErrorCodes.HfExportOutputInvalid, Code(() => HfFolderExporter.Export(model, model.Weights, options, _temp.Root)));
        string file = _temp.Output("file");
        File.WriteAllText(file, "x");
        Assert.Equal(ErrorCodes.HfExportOutputInvalid, Code(() => HfFolderExporter.Export(model, model.Weights, options, file)));
        Assert.Equal(ErrorCodes.OutputNotWritable, Code(() => HfFolderExporter.Export(model, model.Weights, options, Path.Combine(_temp.Output("missing"), "x"))));
        Assert.Equal(ErrorCodes.HfExportOptionInvalid, Code(() => HfFolderExporter.Export(model, model.Weights, options with { MaxShardBytes = -1 }, _temp.Output("y"))));
        Assert.Equal(new[] { "file" }, ExportModels.Listing(_temp.Outputs));
        Assert.Equal(new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json" }, ExportModels.Listing(_temp.Model));
    }

    [Fact]
    public void WeightsThatDoNotFitTheConfigAreRefusedBeforeWriting()
    {
        using var source = ExportModels.Write(_temp.Model);
        using var model = ModelFolder.Open(_temp.Model);
        string q = LlamaTensorNames.Name(TensorRole.Q, 0);
        source.Add(q, DType.F32, new long[] { 16, 64 }, new float[16 * 64]);
        Assert.Equal(ErrorCodes.TensorShapeMismatch, Code(() => HfFolderExporter.Export(model, source, new HfExportOptions(), _temp.Output("x"))));
        source.Remove(q);
        Assert.Equal(ErrorCodes.TensorMissing, Code(() => HfFolderExporter.Export(model, source, new HfExportOptions(), _temp.Output("x"))));
        Assert.Empty(ExportModels.Listing(_temp.Outputs));
    }

    private static string Code(Action action) => Assert.Throws<OptimizerException>(action).Code;

    private static void Chattr(string flag, string path)
    {
        using var process = Process.Start(new ProcessStartInfo("chattr", new[] { flag, path }) { RedirectStandardError = true })!;
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"chattr {flag} {path} failed: {error}");
    }

    public void Dispose() => _temp.Dispose();
}

/// <summary>A view of a tensor source whose <c>failAt</c>-th read (1-based) throws, as a disk or producer failure would.</summary>
internal sealed class FailingTensorSource(ITensorSource inner, int failAt) : ITensorSource
{
    public const string Message = "Simulated read failure.";

    private int _reads;

    public IReadOnlyList<TensorInfo> Tensors => inner.Tensors;

    public TensorInfo? Find(string name) => inner.Find(name);

    public void ReadBytes(TensorInfo tensor, ReadOnlySpanAction<byte, long> onChunk, int maxChunk = 1 << 30)
    {
        if (Interlocked.Increment(ref _reads) == failAt) throw new InvalidOperationException(Message);
        inner.ReadBytes(tensor, onChunk, maxChunk);
    }

    public void Dispose()
    {
    }
}
