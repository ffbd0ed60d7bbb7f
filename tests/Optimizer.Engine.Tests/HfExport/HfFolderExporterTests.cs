using System.Text.Json;
using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.HfExport;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Tests.HfExport;

/// <summary>Exported folders re-open through ModelFolder and give the expected logits, tensors, config and files.</summary>
public sealed class HfFolderExporterTests : IDisposable
{
    private readonly ExportFolder _temp = new();

    [Fact]
    public void FloatF32ExportReopensWithBitIdenticalLogits()
    {
        using var source = ExportModels.Write(_temp.Model);
        using var model = ModelFolder.Open(_temp.Model);
        var progress = new List<HfExportProgress>();
        var result = HfFolderExporter.Export(model, model.Weights, new HfExportOptions(), _temp.Output("f32"), new SyncProgress<HfExportProgress>(progress.Add));

        using var exported = ModelFolder.Open(_temp.Output("f32"));
        Assert.Equal(ExportModels.Logits(model.Config, model.Weights), ExportModels.Logits(exported.Config, exported.Weights));
        foreach (var tensor in model.Weights.Tensors)
            Assert.Equal(TensorData.ReadFloat32(model.Weights, tensor), TensorData.ReadFloat32(exported.Weights, exported.Weights.Find(tensor.Name)!));
        Assert.All(result.Tensors, t => Assert.Equal(("F32", 0.0), (t.Storage, t.RelativeRmse)));
        Assert.Equal(new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json" }, result.Files.Select(f => f.RelativePath));
        Assert.Equal(ExportModels.Listing(_temp.Output("f32")), result.Files.Select(f => f.RelativePath));
        Assert.Equal(new[] { "tokenizer.json", "tokenizer_config.json" }, result.TokenizerFiles);
        Assert.Equal(result.Tensors.Count, progress.Count);
        Assert.Equal(Enumerable.Range(1, progress.Count), progress.Select(p => p.Done));
        Assert.All(progress, p => Assert.Equal(model.Weights.Tensors.Count, p.Total));
    }

    [Theory]
    [InlineData(HfWeightFormat.Int8, 128, false)]
    [InlineData(HfWeightFormat.Int4, 128, false)]
    [InlineData(HfWeightFormat.Int4, 32, true)]
    public void IntExportReopensWithTheLogitsOfTheRoundTrippedWeights(HfWeightFormat format, int group, bool embeddings)
    {
        using var source = ExportModels.Write(_temp.Model);
        using var model = ModelFolder.Open(_temp.Model);
        var options = new HfExportOptions { Format = format, GroupSize = group, QuantizeEmbeddings = embeddings };
        var result = HfFolderExporter.Export(model, model.Weights, options, _temp.Output("int"));

        var roundTrip = options.CreateRoundTrip(model.Config)!;
        using var fake = new FakeQuantizedWeights(model.Weights, roundTrip);
        using var exported = ModelFolder.Open(_temp.Output("int"));
        Assert.Equal(ExportModels.Logits(model.Config, fake), ExportModels.Logits(exported.Config, exported.Weights));
        Assert.NotEqual(ExportModels.Logits(model.Config, model.Weights), ExportModels.Logits(exported.Config, exported.Weights));
        foreach (var tensor in fake.Tensors)
        {
            var back = exported.Weights.Find(tensor.Name)!;
            Assert.Equal(tensor.Shape, back.Shape);
            Assert.Equal(TensorData.ReadFloat32(fake, tensor), TensorData.ReadFloat32(exported.Weights, back));
        }
        Assert.Equal(model.Weights.Tensors.Select(t => t.Name), exported.Weights.Tensors.Select(t => t.Name));

        foreach (var tensor in result.Tensors)
        {
            bool quantized = roundTrip.Quantizes(tensor.Name);
            Assert.Equal(quantized ? roundTrip.Name : "F32", tensor.Storage);
            if (quantized) Assert.InRange(tensor.RelativeRmse, 1e-4, format == HfWeightFormat.Int8 ? 0.02 : 0.2);
            else Assert.Equal(0.0, tensor.RelativeRmse);
        }

        using var raw = SafetensorsFile.Open(Path.Combine(_temp.Output("int"), SafetensorsCheckpoint.SingleFileName));
        string down = LlamaTensorNames.Name(TensorRole.Down, 1);
        var codes = raw.Find(down)!;
        var scales = raw.Find(down + "_scale")!;
        Assert.Equal(format == HfWeightFormat.Int8 ? DType.I8 : DType.U8, codes.DType);
        Assert.Equal(format == HfWeightFormat.Int8 ? new long[] { 32, 48 } : new long[] { 32, 24 }, codes.Shape);
        Assert.Equal(DType.F16, scales.DType);
        Assert.Equal(format == HfWeightFormat.Int8 ? new long[] { 32 } : new long[] { 32, group == 32 ? 2 : 1 }, scales.Shape);
        Assert.Equal(embeddings, raw.Find(LlamaTensorNames.Name(TensorRole.TokenEmbedding))!.DType == DType.U8);
        Assert.Equal(DType.F32, raw.Find(LlamaTensorNames.Name(TensorRole.QBias, 0))!.DType);
        Assert.Equal("pt", raw.Metadata["format"]);
    }

    [Fact]
    public void ConfigKeepsTheSourceKeysAndDescribesTheQuantization()
    {
        using var source = ExportModels.Write(_temp.Model);
        using var model = ModelFolder.Open(_temp.Model);
        HfFolderExporter.Export(model, model.Weights, new HfExportOptions { Format = HfWeightFormat.Int4, GroupSize = 32, FloatDType = DType.BF16 }, _temp.Output("q"));
        using (var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_temp.Output("q"), "config.json"))))
        {
            var root = config.RootElement;
            Assert.Equal("initializer_range", root.EnumerateObject().First().Name);
            Assert.Equal("bfloat16", root.GetProperty("torch_dtype").GetString());
            Assert.Equal("quantization_config", root.EnumerateObject().Last().Name);
            Assert.Equal("""{"quant_method":"outlier-opt","format":"int4-grouped","version":1,"bits":4,"group_size":32,"symmetric":true,"scale_dtype":"float16","quantized_embeddings":false}""",
                JsonSerializer.Serialize(root.GetProperty("quantization_config")));
        }

        // Exporting the int folder again as float drops quantization_config.
        using var quantized = ModelFolder.Open(_temp.Output("q"));
        HfFolderExporter.Export(quantized, quantized.Weights, new HfExportOptions { FloatDType = DType.F16 }, _temp.Output("f16"));
        using var floatConfig = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_temp.Output("f16"), "config.json")));
        Assert.False(floatConfig.RootElement.TryGetProperty("quantization_config", out _));
        Assert.Equal("float16", floatConfig.RootElement.GetProperty("torch_dtype").GetString());
        Assert.EndsWith("}\n", File.ReadAllText(Path.Combine(_temp.Output("f16"), "config.json")));
    }

    [Fact]
    public void TokenizerFilesAreCopiedByteForByte()
    {
        using var source = ExportModels.Write(_temp.Model);
        File.WriteAllText(Path.Combine(_temp.Model, "special_tokens_map.json"), "{\"bos_token\": \"<s>\"}\n");
        using var model = ModelFolder.Open(_temp.Model);
        var result = HfFolderExporter.Export(model, model.Weights, new HfExportOptions { Format = HfWeightFormat.Int8 }, _temp.Output("t"));
        Assert.Equal(new[] { "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json" }, result.TokenizerFiles);
        foreach (string name in result.TokenizerFiles)
            Assert.Equal(File.ReadAllBytes(Path.Combine(_temp.Model, name)), File.ReadAllBytes(Path.Combine(_temp.Output("t"), name)));
        using var exported = ModelFolder.Open(_temp.Output("t"));
        Assert.Equal(model.Tokenizer.Encode("It is a truth", addBos: true), exported.Tokenizer.Encode("It is a truth", addBos: true));
    }

    [Theory]
    [InlineData(HfWeightFormat.Float)]
    [InlineData(HfWeightFormat.Int4)]
    public void ExportsAreByteIdenticalTwice(HfWeightFormat format)
    {
        using var source = ExportModels.Write(_temp.Model);
        using var model = ModelFolder.Open(_temp.Model);
        var options = new HfExportOptions { Format = format, FloatDType = DType.F16, MaxShardBytes = 40_000 };
        var first = HfFolderExporter.Export(model, model.Weights, options, _temp.Output("a"));
        var second = HfFolderExporter.Export(model, model.Weights, options, _temp.Output("b"));
        Assert.Equal(first.Files, second.Files);
        Assert.Equal(first.Tensors, second.Tensors);
        foreach (var file in first.Files)
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(_temp.Output("a"), file.RelativePath));
            Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(_temp.Output("b"), file.RelativePath)));
            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), file.Sha256);
            Assert.Equal(bytes.LongLength, file.Bytes);
        }
    }

    [Theory]
    [InlineData(HfWeightFormat.Float)]
    [InlineData(HfWeightFormat.Int8)]
    public void ShardedExportsHaveAnIndexAndReopenLikeTheSingleFile(HfWeightFormat format)
    {
        using var source = ExportModels.Write(_temp.Model);
        using var model = ModelFolder.Open(_temp.Model);
        var single = HfFolderExporter.Export(model, model.Weights, new HfExportOptions { Format = format }, _temp.Output("single"));
        const long limit = 30_000;
        var sharded = HfFolderExporter.Export(model, model.Weights, new HfExportOptions { Format = format, MaxShardBytes = limit }, _temp.Output("sharded"));

        var shards = sharded.Files.Where(f => f.RelativePath.EndsWith(".safetensors", StringComparison.Ordinal)).ToList();
        Assert.True(shards.Count > 2, $"{shards.Count} shards");
        Assert.Equal(Enumerable.Range(1, shards.Count).Select(i => $"model-{i:D5}-of-{shards.Count:D5}.safetensors"), shards.Select(s => s.RelativePath));
        Assert.DoesNotContain(sharded.Files, f => f.RelativePath == SafetensorsCheckpoint.SingleFileName);
        using (var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_temp.Output("sharded"), ShardIndex.FileName))))
        {
            long total = index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64();
            Assert.Equal(sharded.Tensors.Sum(t => t.Bytes), total);
            var map = index.RootElement.GetProperty("weight_map").EnumerateObject().Select(p => p.Name).ToList();
            Assert.Equal(map.Order(StringComparer.Ordinal), map);
        }
        foreach (var shard in shards)
        {
            using var file = SafetensorsFile.Open(Path.Combine(_temp.Output("sharded"), shard.RelativePath));
            long data = file.Tensors.Sum(t => t.Length);
            Assert.True(data <= limit || file.Tensors.Select(t => t.Name.Replace("_scale", "")).Distinct().Count() == 1, $"{shard.RelativePath}: {data} bytes");
        }
        using var a = ModelFolder.Open(_temp.Output("single"));
        using var b = ModelFolder.Open(_temp.Output("sharded"));
        Assert.Equal(ExportModels.Logits(a.Config, a.Weights), ExportModels.Logits(b.Config, b.Weights));
        Assert.Equal(single.Tensors, sharded.Tensors);
    }

    [Fact]
    public void DefaultFloatTypeIsTheSourceType()
    {
        using var source = ExportModels.Write(_temp.Model);
        using var model = ModelFolder.Open(_temp.Model);
        Assert.Equal(DType.F32, HfFolderExporter.DefaultFloatType(model));
        var result = HfFolderExporter.Export(model, model.Weights, new HfExportOptions { FloatDType = DType.BF16 }, _temp.Output("bf16"));
        Assert.All(result.Tensors, t => Assert.Equal("BF16", t.Storage));
        Assert.All(result.Tensors, t => Assert.InRange(t.RelativeRmse, 1e-5, 4e-3));
        using var exported = ModelFolder.Open(_temp.Output("bf16"));
        Assert.Equal(DType.BF16, HfFolderExporter.DefaultFloatType(exported));
        var again = HfFolderExporter.Export(exported, exported.Weights, new HfExportOptions(), _temp.Output("again"));
        Assert.All(again.Tensors, t => Assert.Equal(("BF16", 0.0), (t.Storage, t.RelativeRmse)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(_temp.Output("bf16"), "model.safetensors")), File.ReadAllBytes(Path.Combine(_temp.Output("again"), "model.safetensors")));
    }

    public void Dispose() => _temp.Dispose();
}

/// <summary>An <see cref="IProgress{T}"/> that calls back on the reporting thread, in order.</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
