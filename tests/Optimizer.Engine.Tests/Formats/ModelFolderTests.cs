using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Formats;

/// <summary>Opening model folders: what is exposed, and each way a folder is refused.</summary>
public class ModelFolderTests
{
    [Fact]
    public void OpensAValidFolder()
    {
        using var temp = new TempFolder();
        TinyModelFolder.Write(temp.Path);
        using var model = ModelFolder.Open(temp.Path);
        Assert.Equal(temp.Path, model.Path);
        Assert.Equal("llama", model.Config.ModelType);
        int expected = LlamaTensorNames.Expected(model.Config).Count();
        Assert.Equal(expected, model.Weights.Tensors.Count);
        Assert.Equal(new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json" }, model.Files.Select(f => f.RelativePath));
        Assert.All(model.Files, f => Assert.Equal(new FileInfo(temp.File(f.RelativePath)).Length, f.Size));
        long parameters = LlamaTensorNames.Expected(model.Config).Sum(e => e.Shape.Aggregate(1L, (a, b) => a * b));
        Assert.Equal(parameters, model.ParameterCount);
        Assert.Equal(new[] { new DTypeCount(DType.F32, expected, parameters) }, model.TensorDTypes);
        Assert.Equal(ModelTokenizer.ByteLevelBpeKind, model.Tokenizer.Kind);
        Assert.Same(model.Tokenizer, model.Tokenizer);
        Assert.Equal("hi\n", model.Tokenizer.Decode(model.Tokenizer.Encode("hi\n", addBos: false)));
    }

    [Fact]
    public void OpensThroughAFileInsideAndSummarizesMixedDTypes()
    {
        using var temp = new TempFolder();
        var config = TinyModelFolder.Config();
        TinyModelFolder.Write(temp.Path, config, TinyModelFolder.Entries(config, DType.BF16,
            (name, shape) => name.EndsWith("norm.weight", StringComparison.Ordinal) ? (DType.F32, shape) : null));
        using var model = ModelFolder.Open(temp.File("config.json"));
        Assert.Equal(temp.Path, model.Path);
        Assert.Equal(new[] { DType.BF16, DType.F32 }, model.TensorDTypes.Select(d => d.DType));
        Assert.Equal(model.ParameterCount, model.TensorDTypes.Sum(d => d.Parameters));
        Assert.Equal(1 + 2 * 2, model.TensorDTypes[1].Tensors);
    }

    [Fact]
    public void OpensAShardedFolder()
    {
        using var temp = new TempFolder();
        var config = TinyModelFolder.Config();
        File.WriteAllText(temp.File("config.json"), config.ToJson());
        var entries = TinyModelFolder.Entries(config);
        var first = entries.Where(e => !e.Name.StartsWith("model.layers.1.", StringComparison.Ordinal)).ToList();
        var second = entries.Except(first).ToList();
        SafetensorsWriter.Write(temp.File("model-00001-of-00002.safetensors"), first);
        SafetensorsWriter.Write(temp.File("model-00002-of-00002.safetensors"), second);
        string map = string.Join(",\n", entries.Select(e =>
            $"\"{e.Name}\": \"model-0000{(first.Contains(e) ? 1 : 2)}-of-00002.safetensors\""));
        temp.Write(ShardIndex.FileName, "{\"weight_map\": {\n" + map + "\n}}");
        using var model = ModelFolder.Open(temp.Path);
        Assert.Equal(entries.Count, model.Weights.Tensors.Count);
        Assert.Equal(new[] { "config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", ShardIndex.FileName },
            model.Files.Select(f => f.RelativePath));
        Assert.Equal("model-00002-of-00002.safetensors", model.Weights.Find("model.layers.1.mlp.up_proj.weight")!.File);
    }

    [Fact]
    public void MissingFolder()
    {
        using var temp = new TempFolder();
        string missing = temp.File("nothing-here");
        FormatsAssert.Fails(ErrorCodes.ModelNotFound, missing, () => ModelFolder.Open(missing), "does not exist");
    }

    [Fact]
    public void EmptyFolderHasNoConfig()
    {
        using var temp = new TempFolder();
        FormatsAssert.Fails(ErrorCodes.ConfigMissing, temp.File("config.json"), () => ModelFolder.Open(temp.Path), "config.json");
    }

    [Fact]
    public void InvalidConfigJsonReportsTheLine()
    {
        using var temp = new TempFolder();
        string config = temp.Write("config.json", "{\n  \"model_type\": \"llama\",\n  \"hidden_size\": 8,,\n}\n");
        var ex = FormatsAssert.Fails(ErrorCodes.ConfigInvalid, config, () => ModelFolder.Open(temp.Path), "not valid");
        Assert.Equal(3, ex.Line);
    }

    [Fact]
    public void UnsupportedArchitecture()
    {
        using var temp = new TempFolder();
        var config = TinyModelFolder.Config();
        TinyModelFolder.Write(temp.Path, config);
        string path = temp.Write("config.json", config.ToJson().Replace("\"llama\"", "\"gpt2\""));
        FormatsAssert.Fails(ErrorCodes.UnsupportedArchitecture, path, () => ModelFolder.Open(temp.Path), "gpt2");
    }

    [Fact]
    public void PickleOnlyFolderIsRefused()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp.File("config.json"), TinyModelFolder.Config().ToJson());
        temp.Write("pytorch_model.bin", new byte[] { 0x80, 0x02 });
        FormatsAssert.Fails(ErrorCodes.PickleRefused, temp.Path, () => ModelFolder.Open(temp.Path),
            "pytorch_model.bin", "arbitrary code", "safe_serialization=True");
    }

    [Fact]
    public void FolderWithoutWeights()
    {
        using var temp = new TempFolder();
        File.WriteAllText(temp.File("config.json"), TinyModelFolder.Config().ToJson());
        temp.Write("weights.safetensors", "x");
        FormatsAssert.Fails(ErrorCodes.NoWeights, temp.Path, () => ModelFolder.Open(temp.Path), "weights.safetensors", "model.safetensors");
    }

    [Fact]
    public void MissingTensor()
    {
        using var temp = new TempFolder();
        var config = TinyModelFolder.Config();
        TinyModelFolder.Write(temp.Path, config, TinyModelFolder.Entries(config, edit: (name, shape) =>
            name == "model.layers.1.self_attn.k_proj.weight" ? (DType.F32, Array.Empty<long>()) : null));
        FormatsAssert.Fails(ErrorCodes.TensorMissing, temp.Path, () => ModelFolder.Open(temp.Path), "'model.layers.1.self_attn.k_proj.weight'");
    }

    [Fact]
    public void WrongShape()
    {
        using var temp = new TempFolder();
        var config = TinyModelFolder.Config();
        TinyModelFolder.Write(temp.Path, config, TinyModelFolder.Entries(config, edit: (name, shape) =>
            name == "model.layers.0.mlp.down_proj.weight" ? (DType.F32, new long[] { 16, 8 }) : null));
        FormatsAssert.Fails(ErrorCodes.TensorShapeMismatch, temp.File("model.safetensors"), () => ModelFolder.Open(temp.Path),
            "'model.layers.0.mlp.down_proj.weight'", "[16, 8]", "[8, 16]");
    }

    [Fact]
    public void NonFloatWeight()
    {
        using var temp = new TempFolder();
        var config = TinyModelFolder.Config();
        TinyModelFolder.Write(temp.Path, config, TinyModelFolder.Entries(config, edit: (name, shape) =>
            name == "model.norm.weight" ? (DType.I32, shape) : null));
        FormatsAssert.Fails(ErrorCodes.UnsupportedDType, temp.File("model.safetensors"), () => ModelFolder.Open(temp.Path), "'model.norm.weight'", "I32");
    }

    [Fact]
    public void CorruptWeightsAreNamed()
    {
        using var temp = new TempFolder();
        TinyModelFolder.Write(temp.Path);
        byte[] weights = File.ReadAllBytes(temp.File("model.safetensors"));
        temp.Write("model.safetensors", weights[..^10]);
        FormatsAssert.Fails(ErrorCodes.SafetensorsTruncated, temp.File("model.safetensors"), () => ModelFolder.Open(temp.Path), "truncated");
    }

    [Fact]
    public void MissingTokenizerFailsOnlyOnAccess()
    {
        using var temp = new TempFolder();
        TinyModelFolder.Write(temp.Path, tokenizer: false);
        using var model = ModelFolder.Open(temp.Path);
        Assert.Equal(2, model.Files.Count);
        FormatsAssert.Fails(ErrorCodes.TokenizerMissing, temp.Path, () => model.Tokenizer);
    }
}
