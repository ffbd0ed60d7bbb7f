using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Tests.Formats;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Gguf;

/// <summary>A valid GGUF file that does not describe a model the engine runs fails with a clear code naming the file.</summary>
public sealed class GgufModelRejectionTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly string _valid;

    public GgufModelRejectionTests()
    {
        string folder = Directory.CreateDirectory(_temp.File("model")).FullName;
        new SyntheticModelBuilder(SyntheticModelBuilder.Presets.Clean(4, 64)).WithShape(64, 1, 4, 2, 128).Build(folder);
        using var model = ModelFolder.Open(folder);
        _valid = _temp.File("valid.gguf");
        LlamaGgufExporter.Export(model, model.Weights, QuantizationRecipe.Parse("F32"), _valid, null, default);
    }

    public void Dispose() => _temp.Dispose();

    /// <summary>Copies the valid file with metadata edited (null drops a key) and optionally one extra tensor.</summary>
    private string Rewrite(Func<string, GgufValue, GgufValue?> edit, string? extraTensor = null)
    {
        using var source = GgufFile.Open(_valid);
        var writer = new GgufWriter();
        foreach (var (key, value) in source.Metadata.Entries)
        {
            if (edit(key, value) is { } kept) writer.Add(key, kept);
        }
        foreach (var tensor in source.Tensors)
        {
            byte[] bytes = source.GetSpan(tensor).ToArray();
            writer.AddTensor(tensor.Name, tensor.Shape, tensor.Type, s => s.Write(bytes));
        }
        if (extraTensor is not null) writer.AddTensor(extraTensor, new long[] { 8 }, GgmlType.F32, s => s.Write(new byte[32]));
        return writer.Write(_temp.File("edited.gguf")).Path;
    }

    [Fact]
    public void MissingHyperParameter()
    {
        string path = Rewrite((k, v) => k == "llama.block_count" ? null : v);
        FormatsAssert.Fails(ErrorCodes.GgufModelInvalid, path, () => ModelFolder.Open(path).Dispose(), "'llama.block_count'");
    }

    [Fact]
    public void HyperParameterOfTheWrongType()
    {
        string path = Rewrite((k, v) => k == "llama.embedding_length" ? GgufValue.String("64") : v);
        FormatsAssert.Fails(ErrorCodes.GgufModelInvalid, path, () => ModelFolder.Open(path).Dispose(), "'llama.embedding_length'", "expected an integer");
    }

    [Fact]
    public void UnsupportedArchitecture()
    {
        string path = Rewrite((k, v) => k == "general.architecture" ? GgufValue.String("gpt2") : v);
        FormatsAssert.Fails(ErrorCodes.UnsupportedArchitecture, path, () => ModelFolder.Open(path).Dispose(), "\"gpt2\"");
    }

    [Fact]
    public void PartialRotaryEmbeddings()
    {
        string path = Rewrite((k, v) => k == "llama.rope.dimension_count" ? GgufValue.UInt32(8) : v);
        FormatsAssert.Fails(ErrorCodes.UnsupportedConfigValue, path, () => ModelFolder.Open(path).Dispose(), "partial rotary");
    }

    [Fact]
    public void TensorTheModelDoesNotUse()
    {
        string path = Rewrite((_, v) => v, "position_embd.weight");
        FormatsAssert.Fails(ErrorCodes.GgufModelInvalid, path, () => ModelFolder.Open(path).Dispose(), "'position_embd.weight'");
    }

    [Fact]
    public void RopeFrequencyDivisorsThatAreNotPositive()
    {
        // The fixture's heads have 16 dimensions: rope_freqs of 8 zeros has llama.cpp's shape but no usable divisor.
        string path = Rewrite((_, v) => v, "rope_freqs.weight");
        FormatsAssert.Fails(ErrorCodes.GgufModelInvalid, path, () => ModelFolder.Open(path).Dispose(), "'rope_freqs.weight'", "positive");
    }

    [Fact]
    public void ShapeThatDisagreesWithTheMetadata()
    {
        string path = Rewrite((k, v) => k == "llama.feed_forward_length" ? GgufValue.UInt32(96) : v);
        FormatsAssert.Fails(ErrorCodes.TensorShapeMismatch, path, () => ModelFolder.Open(path).Dispose(), "blk.0.ffn_gate.weight");
    }

    [Fact]
    public void UnknownTokenizerModelFailsWhenTheTokenizerIsUsed()
    {
        string path = Rewrite((k, v) => k == "tokenizer.ggml.model" ? GgufValue.String("bert") : v);
        using var model = ModelFolder.Open(path);
        FormatsAssert.Fails(ErrorCodes.GgufTokenizerUnsupported, path, () => _ = model.Tokenizer, "\"bert\"");
    }

    [Fact]
    public void MissingTokenizer()
    {
        string path = Rewrite((k, v) => k.StartsWith("tokenizer.", StringComparison.Ordinal) ? null : v);
        using var model = ModelFolder.Open(path);
        FormatsAssert.Fails(ErrorCodes.TokenizerMissing, path, () => _ = model.Tokenizer, "tokenizer.ggml.model");
    }

    [Fact]
    public void TokenTypeCountMismatch()
    {
        string path = Rewrite((k, v) => k == "tokenizer.ggml.token_type" ? GgufValue.Int32s(new[] { 1, 1 }) : v);
        using var model = ModelFolder.Open(path);
        FormatsAssert.Fails(ErrorCodes.GgufTokenizerUnsupported, path, () => _ = model.Tokenizer, "2 entries");
    }

    [Fact]
    public void RewrittenCopyStillOpens()
    {
        string path = Rewrite((_, v) => v);
        using var model = ModelFolder.Open(path);
        Assert.Equal(1, model.Config.NumHiddenLayers);
        Assert.Equal(new[] { 256, 72 }, model.Tokenizer.Encode("H", addBos: true));
    }
}
