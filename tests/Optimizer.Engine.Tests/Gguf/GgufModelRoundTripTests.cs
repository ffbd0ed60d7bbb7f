using System.Security.Cryptography;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Model;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Tests.Formats;
using Optimizer.Engine.Tests.Manifest;
using Optimizer.Fixtures;

namespace Optimizer.Engine.Tests.Gguf;

/// <summary>HF folder -> GGUF (LlamaGgufExporter) -> ModelFolder.Open(.gguf): config, weights, tokenizer and logits survive.</summary>
public sealed class GgufModelRoundTripTests
{
    private const string Text = "It is a truth universally acknowledged, that a single man in possession of a good fortune";

    [Fact]
    public void FixtureF32RoundTripGivesBitIdenticalLogits()
    {
        using var temp = new TempFolder();
        using var source = ModelFolder.Open(RepositoryPaths.AustenFixture);
        string path = temp.File("austen.gguf");
        var progress = new List<GgufExportProgress>();
        var result = LlamaGgufExporter.Export(source, source.Weights, QuantizationRecipe.Parse("F32"), path, new SyncProgress<GgufExportProgress>(progress.Add), default);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), result.Sha256);
        Assert.Equal(new FileInfo(path).Length, result.FileBytes);
        Assert.Equal(LlamaFileType.AllF32, result.FileType);
        Assert.Equal(2 + 9 * source.Config.NumHiddenLayers, result.Tensors.Count);
        Assert.Equal(Enumerable.Range(0, result.Tensors.Count), progress.Select(p => p.Index));
        Assert.All(result.Tensors, t => Assert.Equal(0, t.RelativeRmse));
        Assert.DoesNotContain(result.Tensors, t => t.Name == "output.weight");

        using var gguf = ModelFolder.Open(path);
        Assert.Equal(source.Config.ToJson().Replace("\"torch_dtype\": \"float32\"", ""), gguf.Config.ToJson().Replace("\"torch_dtype\": \"float32\"", ""));
        Assert.Equal(new[] { "austen.gguf" }, gguf.Files.Select(f => f.RelativePath));
        foreach (var tensor in source.Weights.Tensors)
            Assert.Equal(TensorData.ReadFloat32(source.Weights, tensor), TensorData.ReadFloat32(gguf.Weights, gguf.Weights.Find(tensor.Name)!));
        Assert.Equal(source.Tokenizer.Encode(Text, addBos: true), gguf.Tokenizer.Encode(Text, addBos: true));
        Assert.Equal(Text, gguf.Tokenizer.Decode(gguf.Tokenizer.Encode(Text, addBos: false)));

        int[] ids = source.Tokenizer.Encode(Text, addBos: true);
        using var a = LlamaModel.Create(source.Config, source.Weights, new ModelOptions());
        using var b = LlamaModel.Create(gguf.Config, gguf.Weights, new ModelOptions());
        using var la = a.Forward(new[] { ids });
        using var lb = b.Forward(new[] { ids });
        Assert.Equal(la.data<float>().ToArray(), lb.data<float>().ToArray());
    }

    [Fact]
    public void LlamaQkRowsAreInterleavedInTheFile()
    {
        using var temp = new TempFolder();
        using var source = ModelFolder.Open(RepositoryPaths.AustenFixture);
        string path = temp.File("austen.gguf");
        LlamaGgufExporter.Export(source, source.Weights, QuantizationRecipe.Parse("F32"), path, null, default);
        using var file = GgufFile.Open(path);
        var config = source.Config;
        int d = config.HeadDim;
        float[] hf = TensorData.ReadFloat32(source.Weights, source.Weights.Find("model.layers.1.self_attn.k_proj.weight")!);
        float[] stored = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.GetSpan(file.Find("blk.1.attn_k.weight")!)).ToArray();
        int cols = config.HiddenSize;
        for (int h = 0; h < config.KeyValueHeads; h++)
        {
            for (int i = 0; i < d / 2; i++)
            {
                Assert.Equal(hf.AsSpan((h * d + i) * cols, cols).ToArray(), stored.AsSpan((h * d + 2 * i) * cols, cols).ToArray());
                Assert.Equal(hf.AsSpan((h * d + d / 2 + i) * cols, cols).ToArray(), stored.AsSpan((h * d + 2 * i + 1) * cols, cols).ToArray());
            }
        }
        var m = file.Metadata;
        Assert.Equal("llama", m.GetString("general.architecture"));
        Assert.Equal("gpt2", m.GetString("tokenizer.ggml.model"));
        Assert.Equal(config.VocabSize, m.GetArray<string>("tokenizer.ggml.tokens", GgufValueType.String).Length);
        Assert.Equal(256, m.GetInt32("tokenizer.ggml.bos_token_id"));
        Assert.Equal(2u, m.Get("general.quantization_version").Value);
        Assert.Equal(config.HeadDim, m.GetInt32("llama.rope.dimension_count"));
        Assert.Equal(1e-5, m.GetFloat("llama.attention.layer_norm_rms_epsilon"), 1e-10);
    }

    [Theory]
    [InlineData(SyntheticArchitecture.Qwen2, true)]
    [InlineData(SyntheticArchitecture.Llama, false)]
    public void SyntheticModelsRoundTripAtF32AndF16(SyntheticArchitecture architecture, bool tied)
    {
        using var temp = new TempFolder();
        string folder = Directory.CreateDirectory(temp.File("model")).FullName;
        new SyntheticModelBuilder(SyntheticModelBuilder.Presets.AllThree(3, 64)).WithArchitecture(architecture).WithTiedEmbeddings(tied).Build(folder);
        using var source = ModelFolder.Open(folder);

        string f32 = temp.File("m32.gguf");
        LlamaGgufExporter.Export(source, source.Weights, QuantizationRecipe.Parse("F32"), f32, null, default);
        using (var gguf = ModelFolder.Open(f32))
        {
            Assert.Equal(source.Config.ModelType, gguf.Config.ModelType);
            Assert.Equal(tied, gguf.Config.TieWordEmbeddings);
            Assert.Equal(source.Config.HasQkvBias, gguf.Config.HasQkvBias);
            Assert.Equal(source.Weights.Tensors.Select(t => t.Name), gguf.Weights.Tensors.Select(t => t.Name));
            foreach (var tensor in source.Weights.Tensors)
                Assert.Equal(TensorData.ReadFloat32(source.Weights, tensor), TensorData.ReadFloat32(gguf.Weights, gguf.Weights.Find(tensor.Name)!));
            using var file = GgufFile.Open(f32);
            Assert.Equal(architecture == SyntheticArchitecture.Qwen2 ? "qwen2" : "llama", file.Metadata.GetString("general.architecture"));
        }

        string f16 = temp.File("m16.gguf");
        var result = LlamaGgufExporter.Export(source, source.Weights, QuantizationRecipe.Parse("F16"), f16, null, default);
        Assert.Contains(result.Tensors, t => t.Type == GgmlType.F16 && t.RelativeRmse > 0 && t.RelativeRmse < 1e-3);
        using var half = ModelFolder.Open(f16);
        foreach (var tensor in source.Weights.Tensors.Where(t => t.Shape.Length == 2))
        {
            float[] original = TensorData.ReadFloat32(source.Weights, tensor);
            var expected = original.Select(v => HalfPrecision.FromFp16(HalfPrecision.ToFp16(v))).ToArray();
            var read = half.Weights.Find(tensor.Name)!;
            Assert.Equal(DType.F16, read.DType);
            Assert.Equal(expected, TensorData.ReadFloat32(half.Weights, read));
        }
    }

    [Fact]
    public void Qwen3IsWrittenAsQwen3WithItsQkNormsAndNoPermutation()
    {
        using var temp = new TempFolder();
        string folder = Directory.CreateDirectory(temp.File("model")).FullName;
        new SyntheticModelBuilder(SyntheticModelBuilder.Presets.AllThree(3, 64)).WithArchitecture(SyntheticArchitecture.Qwen3).Build(folder);
        using var source = ModelFolder.Open(folder);
        string path = temp.File("qwen3.gguf");
        LlamaGgufExporter.Export(source, source.Weights, QuantizationRecipe.Parse("F32"), path, null, default);
        using (var file = GgufFile.Open(path))
        {
            var m = file.Metadata;
            Assert.Equal("qwen3", m.GetString("general.architecture"));
            Assert.Equal(source.Config.HeadDim, m.GetInt32("qwen3.attention.key_length"));
            Assert.False(m.FindBool("tokenizer.ggml.add_bos_token"));
            Assert.Null(file.Find("blk.0.attn_q.bias"));
            float[] hfNorm = TensorData.ReadFloat32(source.Weights, source.Weights.Find("model.layers.2.self_attn.k_norm.weight")!);
            Assert.Equal(hfNorm, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.GetSpan(file.Find("blk.2.attn_k_norm.weight")!)).ToArray());
            float[] hfQ = TensorData.ReadFloat32(source.Weights, source.Weights.Find("model.layers.1.self_attn.q_proj.weight")!);
            Assert.Equal(hfQ, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.GetSpan(file.Find("blk.1.attn_q.weight")!)).ToArray());
        }
        AssertSameModel(source, path);
    }

    [Fact]
    public void Llama3RopeScalingTravelsAsTheRopeFreqsTensor()
    {
        using var temp = new TempFolder();
        string folder = Directory.CreateDirectory(temp.File("model")).FullName;
        new SyntheticModelBuilder(SyntheticModelBuilder.Presets.Clean(4, 64)).WithRopeScaling(SyntheticModelBuilder.Llama3RopeScaling).Build(folder);
        using var source = ModelFolder.Open(folder);
        string path = temp.File("llama3.gguf");
        var result = LlamaGgufExporter.Export(source, source.Weights, QuantizationRecipe.Parse("Q8_0"), path, null, default);
        Assert.Equal("rope_freqs.weight", result.Tensors[0].Name);
        using (var file = GgufFile.Open(path))
        {
            Assert.Equal("rope_freqs.weight", file.Tensors[0].Name);
            var stored = file.Find("rope_freqs.weight")!;
            Assert.Equal(GgmlType.F32, stored.Type);
            float[] divisors = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.GetSpan(stored)).ToArray();
            // θ = 10⁴, d = 16, original context 256, low 1, high 4: wavelengths 2π·10^(i/2) → pairs 0-2 kept (λ < 64),
            // pair 3 blended (λ = 198.7: s = (256/λ − 1)/3), pairs 4-7 divided by 8 (λ > 256).
            double lambda3 = 2 * Math.PI * Math.Pow(10000, 3.0 / 8), s = (256 / lambda3 - 1) / 3;
            var expected = new[] { 1f, 1f, 1f, (float)(1 / ((1 - s) / 8 + s)), 8f, 8f, 8f, 8f };
            Assert.Equal(expected, divisors);
            Assert.Null(file.Metadata.Find("llama.rope.scaling.type"));
        }
        using (var gguf = ModelFolder.Open(path))
            Assert.Equal(source.Config.Rope.Divisors(16, 10000).Select(d => (double)(float)d), gguf.Config.RopeFrequencyDivisors!);
    }

    [Fact]
    public void LinearRopeScalingTravelsAsMetadata()
    {
        using var temp = new TempFolder();
        string folder = Directory.CreateDirectory(temp.File("model")).FullName;
        new SyntheticModelBuilder(SyntheticModelBuilder.Presets.Clean(4, 64)).WithRopeScaling("""{"type":"linear","factor":2.5}""").Build(folder);
        using var source = ModelFolder.Open(folder);
        string path = temp.File("linear.gguf");
        LlamaGgufExporter.Export(source, source.Weights, QuantizationRecipe.Parse("F32"), path, null, default);
        using (var file = GgufFile.Open(path))
        {
            Assert.Equal("linear", file.Metadata.GetString("llama.rope.scaling.type"));
            Assert.Equal(2.5, file.Metadata.GetFloat("llama.rope.scaling.factor"));
            Assert.Null(file.Find("rope_freqs.weight"));
        }
        AssertSameModel(source, path);
    }

    [Fact]
    public void YarnRopeScalingTravelsAsMetadata()
    {
        using var temp = new TempFolder();
        string folder = Directory.CreateDirectory(temp.File("model")).FullName;
        new SyntheticModelBuilder(SyntheticModelBuilder.Presets.Clean(4, 64)).WithArchitecture(SyntheticArchitecture.Qwen3)
            .WithRopeScaling("""{"rope_type":"yarn","factor":4.0,"original_max_position_embeddings":64}""").Build(folder);
        using var source = ModelFolder.Open(folder);
        string path = temp.File("yarn.gguf");
        LlamaGgufExporter.Export(source, source.Weights, QuantizationRecipe.Parse("F32"), path, null, default);
        using (var file = GgufFile.Open(path))
        {
            Assert.Equal("yarn", file.Metadata.GetString("qwen3.rope.scaling.type"));
            Assert.Equal(4.0, file.Metadata.GetFloat("qwen3.rope.scaling.factor"));
            Assert.Equal(64, file.Metadata.GetInt32("qwen3.rope.scaling.original_context_length"));
        }
        Assert.Equal(0.1 * Math.Log(4) + 1, source.Config.RopeAttentionFactor, 12);
        AssertSameModel(source, path);
    }

    /// <summary>The GGUF read back is the same model: same tensors and bit-identical engine logits.</summary>
    private static void AssertSameModel(ModelFolder source, string path)
    {
        using var gguf = ModelFolder.Open(path);
        Assert.Equal(source.Config.ModelType, gguf.Config.ModelType);
        Assert.Equal(source.Config.RopeInverseFrequencies().Select(f => (float)f), gguf.Config.RopeInverseFrequencies().Select(f => (float)f));
        foreach (var tensor in source.Weights.Tensors)
            Assert.Equal(TensorData.ReadFloat32(source.Weights, tensor), TensorData.ReadFloat32(gguf.Weights, gguf.Weights.Find(tensor.Name)!));
        int[] ids = source.Tokenizer.Encode(Text, addBos: true);
        using var a = LlamaModel.Create(source.Config, source.Weights, new ModelOptions());
        using var b = LlamaModel.Create(gguf.Config, gguf.Weights, new ModelOptions());
        using var la = a.Forward(new[] { ids });
        using var lb = b.Forward(new[] { ids });
        Assert.Equal(la.data<float>().ToArray(), lb.data<float>().ToArray());
    }

    [Fact]
    public void Q8_0IsDequantizedOnReadAndQ4_0IsRefused()
    {
        using var temp = new TempFolder();
        string folder = Directory.CreateDirectory(temp.File("model")).FullName;
        new SyntheticModelBuilder(SyntheticModelBuilder.Presets.Clean(2, 64)).WithShape(64, 2, 4, 2, 128).Build(folder);
        using var source = ModelFolder.Open(folder);
        string q8 = temp.File("q8.gguf");
        var result = LlamaGgufExporter.Export(source, source.Weights, QuantizationRecipe.Parse("Q8_0"), q8, null, default);
        Assert.Contains(result.Tensors, t => t.Type == GgmlType.Q8_0 && t.RelativeRmse is > 0 and < 0.02);
        using (var gguf = ModelFolder.Open(q8))
        {
            var name = "model.layers.1.mlp.down_proj.weight";
            float[] original = TensorData.ReadFloat32(source.Weights, source.Weights.Find(name)!);
            var bytes = new byte[GgmlTypes.ByteCount(GgmlType.Q8_0, original.Length)];
            GgmlQuantizer.Quantize(GgmlType.Q8_0, original, bytes);
            var expected = new float[original.Length];
            GgmlQuantizer.Dequantize(GgmlType.Q8_0, bytes, expected);
            var read = gguf.Weights.Find(name)!;
            Assert.Equal(DType.F32, read.DType);
            Assert.Equal(expected, TensorData.ReadFloat32(gguf.Weights, read));
        }
        string q4 = temp.File("q4.gguf");
        LlamaGgufExporter.Export(source, source.Weights, QuantizationRecipe.Parse("Q4_0"), q4, null, default);
        var ex = FormatsAssert.Fails(ErrorCodes.GgufTensorTypeUnsupported, q4, () => ModelFolder.Open(q4).Dispose(), "Q4_0", "token_embd.weight");
        Assert.Contains("Q8_0", ex.Message);
    }

    [Fact]
    public void Bf16IsReadAsStored()
    {
        using var temp = new TempFolder();
        string folder = Directory.CreateDirectory(temp.File("model")).FullName;
        new SyntheticModelBuilder(SyntheticModelBuilder.Presets.Clean(8, 64)).WithShape(64, 1, 4, 2, 128).Build(folder);
        using var source = ModelFolder.Open(folder);
        string path = temp.File("bf16.gguf");
        LlamaGgufExporter.Export(source, source.Weights, QuantizationRecipe.Parse("BF16"), path, null, default);
        using var gguf = ModelFolder.Open(path);
        foreach (var tensor in source.Weights.Tensors.Where(t => t.Shape.Length == 2))
        {
            var read = gguf.Weights.Find(tensor.Name)!;
            Assert.Equal(DType.BF16, read.DType);
            var expected = TensorData.ReadFloat32(source.Weights, tensor).Select(v => HalfPrecision.FromBf16(HalfPrecision.ToBf16(v))).ToArray();
            Assert.Equal(expected, TensorData.ReadFloat32(gguf.Weights, read));
        }
    }

    [Fact]
    public void CancelledExportLeavesNoFile()
    {
        using var temp = new TempFolder();
        using var source = ModelFolder.Open(RepositoryPaths.AustenFixture);
        using var cts = new CancellationTokenSource();
        string path = temp.File("c.gguf");
        Assert.ThrowsAny<OperationCanceledException>(() => LlamaGgufExporter.Export(source, source.Weights, QuantizationRecipe.Parse("F16"), path,
            new SyncProgress<GgufExportProgress>(p => { if (p.Index == 3) cts.Cancel(); }), cts.Token));
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void SentencePieceTokenizerTravelsAsLlamaTokenizerMetadata()
    {
        using var temp = new TempFolder();
        int vocab = SentencePieceModelWriter.FirstPieceId + SentencePieceModelWriter.Pieces.Length;
        var config = TinyModelFolder.Config();
        config.VocabSize = vocab;
        config.BosTokenId = 1;
        TinyModelFolder.Write(temp.Path, config, tokenizer: false);
        File.WriteAllBytes(temp.File("tokenizer.model"), SentencePieceModelWriter.Build());
        using var source = ModelFolder.Open(temp.Path);
        string path = temp.File("sp.gguf");
        LlamaGgufExporter.Export(source, source.Weights, QuantizationRecipe.Parse("F32"), path, null, default);
        using (var file = GgufFile.Open(path))
        {
            Assert.Equal("llama", file.Metadata.GetString("tokenizer.ggml.model"));
            var scores = file.Metadata.GetArray<float>("tokenizer.ggml.scores", GgufValueType.Float32);
            Assert.Equal(-1f, scores[SentencePieceModelWriter.FirstPieceId]);
            Assert.Equal(6, file.Metadata.GetArray<int>("tokenizer.ggml.token_type", GgufValueType.Int32)[3 + 0x41]);
        }
        using var gguf = ModelFolder.Open(path);
        const string text = "hello world and the ünïcode";
        Assert.Equal(source.Tokenizer.Encode(text, addBos: true), gguf.Tokenizer.Encode(text, addBos: true));
        Assert.Equal(source.Tokenizer.Decode(source.Tokenizer.Encode(text, false)), gguf.Tokenizer.Decode(gguf.Tokenizer.Encode(text, false)));
    }

    [Fact]
    public void PermutationIsInvertible()
    {
        var values = Enumerable.Range(0, 4 * 8 * 3).Select(i => (float)i).ToArray();
        var permuted = QkRowPermutation.Apply<float>(values, 4, 3, inverse: false);
        Assert.NotEqual(values, permuted);
        Assert.Equal(values, QkRowPermutation.Apply<float>(permuted, 4, 3, inverse: true));
        Assert.Equal(values.AsSpan(3 * 4, 3).ToArray(), permuted.AsSpan(3 * 1, 3).ToArray()); // head 0: row d/2 -> row 1
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
