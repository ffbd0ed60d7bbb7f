using System.Text.Json.Nodes;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.HfExport;

namespace Optimizer.Engine.Tests.HfExport;

/// <summary>ModelFolder.Open on int8/int4 folders that break the documented layout fails with OOPT1175, naming the file.</summary>
public sealed class IntCheckpointReaderTests : IDisposable
{
    private readonly ExportFolder _temp = new();
    private static readonly string Down = LlamaTensorNames.Name(TensorRole.Down, 0);

    [Fact]
    public void AMissingScaleTensorIsInvalid() =>
        AssertInvalid(HfWeightFormat.Int8, tensors => tensors.RemoveAll(t => t.Name == Down + "_scale"), "has no scale tensor");

    [Fact]
    public void AnOrphanScaleTensorIsInvalid() =>
        AssertInvalid(HfWeightFormat.Int8, tensors => tensors.Add(SafetensorsEntry.FromBytes("model.norm.weight_scale", DType.F16, new byte[2], 1)),
            "without int8/int4 codes");

    [Fact]
    public void AScaleOfTheWrongTypeOrShapeIsInvalid()
    {
        AssertInvalid(HfWeightFormat.Int4, tensors => Replace(tensors, Down + "_scale", DType.F32, new long[] { 32, 1 }), "need F16 [32, 1]");
        AssertInvalid(HfWeightFormat.Int8, tensors => Replace(tensors, Down + "_scale", DType.F16, new long[] { 31 }), "need F16 [32]");
    }

    [Fact]
    public void CodesOfTheOtherWidthAreInvalid() =>
        AssertInvalid(HfWeightFormat.Int8, tensors => Replace(tensors, Down, DType.U8, new long[] { 32, 48 }), "stores codes as I8");

    [Theory]
    [InlineData("version", "2", "\"version\" must be 1")]
    [InlineData("format", "\"int3-grouped\"", "\"format\" must be")]
    [InlineData("bits", "8", "\"bits\" must be 4")]
    [InlineData("group_size", "0", "\"group_size\" must be a positive integer")]
    [InlineData("symmetric", "false", "\"symmetric\" must be true")]
    [InlineData("scale_dtype", "\"bfloat16\"", "\"scale_dtype\" must be")]
    public void ABadQuantizationConfigIsInvalid(string key, string value, string message)
    {
        string folder = Export(HfWeightFormat.Int4);
        string path = Path.Combine(folder, "config.json");
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        root["quantization_config"]![key] = JsonNode.Parse(value);
        File.WriteAllText(path, root.ToJsonString());
        var ex = Assert.Throws<OptimizerException>(() => ModelFolder.Open(folder));
        Assert.Equal(ErrorCodes.IntCheckpointInvalid, ex.Code);
        Assert.Contains(message, ex.Message);
        Assert.Equal(path, ex.File);
    }

    [Fact]
    public void AnotherQuantMethodIsNotReadAsOurs()
    {
        string folder = Export(HfWeightFormat.Int8);
        string path = Path.Combine(folder, "config.json");
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        root["quantization_config"]!["quant_method"] = "gptq";
        File.WriteAllText(path, root.ToJsonString());
        var ex = Assert.Throws<OptimizerException>(() => ModelFolder.Open(folder));
        Assert.Equal(ErrorCodes.UnsupportedDType, ex.Code); // plain safetensors reading sees I8 weights
    }

    private string Export(HfWeightFormat format)
    {
        if (!Directory.Exists(_temp.Model)) ExportModels.Write(_temp.Model).Dispose();
        using var model = ModelFolder.Open(_temp.Model);
        string target = _temp.Output(Guid.NewGuid().ToString("N"));
        HfFolderExporter.Export(model, model.Weights, new HfExportOptions { Format = format, GroupSize = 128 }, target);
        return target;
    }

    private void AssertInvalid(HfWeightFormat format, Action<List<SafetensorsEntry>> edit, string message)
    {
        string folder = Export(format);
        string path = Path.Combine(folder, SafetensorsCheckpoint.SingleFileName);
        List<SafetensorsEntry> tensors;
        using (var file = SafetensorsFile.Open(path))
            tensors = file.Tensors.Select(t => SafetensorsEntry.FromBytes(t.Name, t.DType, file.GetSpan(t).ToArray(), t.Shape)).ToList();
        edit(tensors);
        SafetensorsWriter.Write(path, tensors);
        var ex = Assert.Throws<OptimizerException>(() => ModelFolder.Open(folder));
        Assert.Equal(ErrorCodes.IntCheckpointInvalid, ex.Code);
        Assert.Contains(message, ex.Message);
        Assert.Equal(path, ex.File);
    }

    private static void Replace(List<SafetensorsEntry> tensors, string name, DType dtype, long[] shape)
    {
        tensors.RemoveAll(t => t.Name == name);
        long count = shape.Aggregate(1L, (a, b) => a * b);
        tensors.Add(SafetensorsEntry.FromBytes(name, dtype, new byte[count * DTypes.SizeOf(dtype)], shape));
    }

    public void Dispose() => _temp.Dispose();
}
