using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Formats.HfExport;
using Optimizer.Engine.Model;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Tests.Formats;
using Optimizer.Engine.Tests.Model;
using Optimizer.Engine.Tests.Reference;
using Optimizer.Fixtures;
using Xunit.Abstractions;

namespace Optimizer.Engine.Tests.Phi3;

/// <summary>
/// phi3 (docs/model-families.md, "Phi-3"): synthetic checkpoints written with fused qkv_proj/gate_up_proj, read through
/// the fused view, checked against the float64 reference decoder (which reads the fused tensors itself), and the
/// config keys, refusals and GGUF layout.
/// </summary>
public sealed class Phi3Tests(ITestOutputHelper output)
{
    /// <summary>Phi-3-mini-like (MHA, sliding window 5 &lt; the 12 tokens run, every plant, BF16).</summary>
    internal const string Window = "phi3-window-bf16";

    /// <summary>Phi-4-mini-like (GQA 4/2, partial_rotary_factor 0.75: 12 of 16 dims rotate, longrope with the default original context 4096, max 16384, tied).</summary>
    internal const string Phi4 = "phi4-partial-longrope-gqa";

    /// <summary>Phi-3-128k-like longrope (original 2048, max 8192: attention factor √(1 + ln 4 / ln 2048)), F32.</summary>
    internal const string Longrope = "phi3-longrope-f32";

    public static TheoryData<string> Variants => new() { Window, Phi4, Longrope };

    /// <summary>The synthetic phi3 model <paramref name="name"/>.</summary>
    internal static SyntheticModelBuilder Variant(string name) => name switch
    {
        Window => new SyntheticModelBuilder(SyntheticModelBuilder.Presets.AllThree(11, 64)).WithArchitecture(SyntheticArchitecture.Phi3)
            .WithWeightDType(DType.BF16).WithPhi3Keys(slidingWindow: 5, originalMaxPositionEmbeddings: 4096).WithMaxPositionEmbeddings(4096),
        Phi4 => new SyntheticModelBuilder(SyntheticModelBuilder.Presets.MassiveActivationOnly(12, 64)).WithShape(64, 4, 4, 2)
            .WithArchitecture(SyntheticArchitecture.Phi3).WithTiedEmbeddings(true).WithPhi3Keys(partialRotaryFactor: 0.75)
            .WithRopeScaling(SyntheticModelBuilder.LongropeScaling(6)).WithMaxPositionEmbeddings(16384),
        Longrope => new SyntheticModelBuilder(SyntheticModelBuilder.Presets.Clean(13, 64)).WithArchitecture(SyntheticArchitecture.Phi3)
            .WithPhi3Keys(originalMaxPositionEmbeddings: 2048).WithRopeScaling(SyntheticModelBuilder.LongropeScaling(8)).WithMaxPositionEmbeddings(8192),
        _ => throw new ArgumentException(name, nameof(name)),
    };

    private static string Build(TempFolder temp, string name)
    {
        string folder = Directory.CreateDirectory(temp.File(name)).FullName;
        Variant(name).Build(folder);
        return folder;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void LogitsMatchFloat64ReferenceReadingTheFusedTensors(string name)
    {
        using var temp = new TempFolder();
        string folder = Build(temp, name);
        using var model = ModelFolder.Open(folder);
        Assert.IsType<FusedTensorSource>(model.Weights);
        int[][] batch = RandomModels.Tokens(model.Config.VocabSize, batch: 2, length: 12, seed: 5);

        using var engine = LlamaModel.Create(model.Config, model.Weights, new ModelOptions());
        using var logits = engine.Forward(batch);
        float[] actual = logits.data<float>().ToArray();

        // The reference reads the raw checkpoint (qkv_proj, gate_up_proj) and the raw config, not the engine's view.
        using var raw = SafetensorsCheckpoint.Open(folder);
        var reference = new ReferenceDecoder(ModelConfig.Load(Path.Combine(folder, "config.json")), raw);
        int vocab = model.Config.VocabSize;
        double maxAbs = 0, maxDiff = 0;
        for (int b = 0; b < batch.Length; b++)
        {
            double[][] expected = reference.Logits(batch[b]);
            for (int t = 0; t < expected.Length; t++)
                for (int v = 0; v < vocab; v++)
                {
                    maxAbs = Math.Max(maxAbs, Math.Abs(expected[t][v]));
                    maxDiff = Math.Max(maxDiff, Math.Abs(expected[t][v] - actual[(b * 12 + t) * vocab + v]));
                }
        }
        output.WriteLine($"{name}: max |Δlogit| / max |logit| = {maxDiff / maxAbs:E3} (max |logit| {maxAbs:F3})");
        Assert.True(maxAbs > 0.1, $"logits too small to be a meaningful check ({maxAbs})");
        Assert.True(maxDiff / maxAbs <= 1e-4, $"{name}: max |Δlogit| / max |logit| = {maxDiff / maxAbs:E3} (max |logit| {maxAbs:F3})");
    }

    /// <summary>Each phi3 feature changes the reference logits far beyond the tolerance above, so that test would notice an engine that ignored it.</summary>
    [Theory]
    [InlineData("sliding_window")]
    [InlineData("partial_rotary_factor")]
    [InlineData("longrope")]
    public void EachFeatureChangesTheLogits(string feature)
    {
        using var temp = new TempFolder();
        string folder = Build(temp, feature switch { "sliding_window" => Window, "partial_rotary_factor" => Phi4, _ => Longrope });
        using var raw = SafetensorsCheckpoint.Open(folder);
        ModelConfig with = ModelConfig.Load(Path.Combine(folder, "config.json")), without = ModelConfig.Load(Path.Combine(folder, "config.json"));
        switch (feature)
        {
            case "sliding_window": without.SlidingWindow = null; break;
            case "partial_rotary_factor": with.RopeScaling = null; without.RopeScaling = null; without.PartialRotaryFactor = null; break;
            default: without.RopeScaling = null; break;
        }
        int[] tokens = RandomModels.Tokens(with.VocabSize, batch: 1, length: 12, seed: 5)[0];
        double[][] a = new ReferenceDecoder(with, raw).Logits(tokens), b = new ReferenceDecoder(without, raw).Logits(tokens);
        double maxAbs = a.SelectMany(r => r).Max(Math.Abs), maxDiff = 0;
        for (int t = 0; t < a.Length; t++)
            for (int v = 0; v < a[t].Length; v++) maxDiff = Math.Max(maxDiff, Math.Abs(a[t][v] - b[t][v]));
        output.WriteLine($"{feature}: relative change {maxDiff / maxAbs:E3}");
        Assert.True(maxDiff / maxAbs > 1e-2, $"{feature}: relative change {maxDiff / maxAbs:E3} is too small to tell the feature apart");
    }

    [Fact]
    public void LongropeUsesTheShortFactorsUpToTheOriginalContextAndScalesByTheAttentionFactor()
    {
        using var temp = new TempFolder();
        using var model = ModelFolder.Open(Build(temp, Longrope));
        var config = model.Config;
        Assert.Equal(16, config.RotaryDims);
        Assert.Equal(2048, config.LongropeOriginalContext);
        // max 8192 / original 2048 = 4: m = √(1 + ln 4 / ln 2048).
        Assert.Equal(Math.Sqrt(1 + Math.Log(4) / Math.Log(2048)), config.RopeAttentionFactor, 15);
        double[] shortInv = config.RopeInverseFrequencies(2048), longInv = config.RopeInverseFrequencies(2049);
        for (int i = 0; i < 8; i++)
        {
            double plain = Math.Pow(10000, -2.0 * i / 16);
            Assert.Equal(plain / (1 + 0.5 * i / 8), shortInv[i], 15);
            Assert.Equal(plain / (1 + 6.0 * i / 8), longInv[i], 15);
        }

        using var phi4 = ModelFolder.Open(Build(temp, Phi4));
        Assert.Equal(12, phi4.Config.RotaryDims);
        Assert.Equal(6, phi4.Config.RopeInverseFrequencies().Length);
        Assert.Equal(ModelConfig.Phi3DefaultOriginalContext, phi4.Config.LongropeOriginalContext);
        Assert.Equal(Math.Sqrt(1 + Math.Log(4) / Math.Log(4096)), phi4.Config.RopeAttentionFactor, 15);
    }

    /// <summary>
    /// An explicit <c>rope_scaling.attention_factor</c> replaces the derived one (as in Hugging Face's
    /// <c>_compute_longrope_parameters</c>): engine and reference agree with it, and it is written as the GGUF attn_factor.
    /// </summary>
    [Fact]
    public void AnExplicitAttentionFactorIsUsed()
    {
        using var temp = new TempFolder();
        string folder = Build(temp, Longrope);
        string path = Path.Combine(folder, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json["rope_scaling"]!["attention_factor"] = 1.3;
        File.WriteAllText(path, json.ToJsonString());
        using var model = ModelFolder.Open(folder);
        Assert.Equal(1.3, model.Config.RopeAttentionFactor);
        int[] tokens = RandomModels.Tokens(model.Config.VocabSize, batch: 1, length: 12, seed: 9)[0];
        using var engine = LlamaModel.Create(model.Config, model.Weights, new ModelOptions());
        using var logits = engine.Forward(new[] { tokens });
        float[] actual = logits.data<float>().ToArray();
        using var raw = SafetensorsCheckpoint.Open(folder);
        double[][] expected = new ReferenceDecoder(ModelConfig.Load(path), raw).Logits(tokens);
        double maxAbs = expected.SelectMany(r => r).Max(Math.Abs), maxDiff = 0;
        for (int t = 0; t < expected.Length; t++)
            for (int v = 0; v < expected[t].Length; v++) maxDiff = Math.Max(maxDiff, Math.Abs(expected[t][v] - actual[t * expected[t].Length + v]));
        output.WriteLine($"explicit attention_factor 1.3: max |Δlogit| / max |logit| = {maxDiff / maxAbs:E3}");
        Assert.True(maxDiff / maxAbs <= 1e-4, $"{maxDiff / maxAbs:E3}");
        string gguf = temp.File("af.gguf");
        LlamaGgufExporter.Export(model, model.Weights, QuantizationRecipe.Parse("F32"), gguf, null, default);
        using var file = GgufFile.Open(gguf);
        Assert.Equal(1.3f, (float)file.Metadata.GetFloat("phi3.rope.scaling.attn_factor"));
        // Read back: kept as an explicit attention_factor because it is not the derived one.
        using var back = ModelFolder.Open(gguf);
        Assert.Equal(1.3f, (float)back.Config.Rope.AttentionFactor!.Value);
    }

    [Fact]
    public void TheFusedViewPresentsRowRangesOfTheStoredTensorsWithoutFusedNames()
    {
        using var temp = new TempFolder();
        string folder = Build(temp, Phi4);
        using var model = ModelFolder.Open(folder);
        using var raw = SafetensorsCheckpoint.Open(folder);
        var view = model.Weights;
        Assert.DoesNotContain(view.Tensors, t => t.Name.Contains("qkv_proj", StringComparison.Ordinal) || t.Name.Contains("gate_up_proj", StringComparison.Ordinal));
        Assert.Equal(raw.Tensors.Count + 3 * model.Config.NumHiddenLayers, view.Tensors.Count);
        Assert.Equal(view.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal), view.Tensors.Select(t => t.Name));
        long c = model.Config.HiddenSize, q = 4 * 16, kv = 2 * 16, f = model.Config.IntermediateSize;
        for (int layer = 0; layer < model.Config.NumHiddenLayers; layer++)
        {
            var qkv = raw.Find(Phi3Names.Qkv(layer))!;
            var gateUp = raw.Find(Phi3Names.GateUp(layer))!;
            float[] fused = TensorData.ReadFloat32(raw, qkv), fusedMlp = TensorData.ReadFloat32(raw, gateUp);
            var parts = new (TensorRole Role, long Row, long Rows, TensorInfo Fused, float[] Values)[]
            {
                (TensorRole.Q, 0, q, qkv, fused), (TensorRole.K, q, kv, qkv, fused), (TensorRole.V, q + kv, kv, qkv, fused),
                (TensorRole.Gate, 0, f, gateUp, fusedMlp), (TensorRole.Up, f, f, gateUp, fusedMlp),
            };
            foreach (var (role, row, rows, fusedInfo, values) in parts)
            {
                var info = view.Find(LlamaTensorNames.Name(role, layer))!;
                Assert.Equal(new[] { rows, c }, info.Shape);
                Assert.Equal(fusedInfo.Offset + row * c * 4, info.Offset); // F32: the part is a byte range of the stored tensor
                Assert.Equal(values.AsSpan((int)(row * c), (int)(rows * c)).ToArray(), TensorData.ReadFloat32(view, info));
                // Chunks that split elements and cross the part's borders still deliver exactly its bytes, in order.
                var bytes = new List<byte>();
                long expectedOffset = 0;
                view.ReadBytes(info, (chunk, offset) =>
                {
                    Assert.Equal(expectedOffset, offset);
                    bytes.AddRange(chunk.ToArray());
                    expectedOffset += chunk.Length;
                }, maxChunk: 7);
                Assert.Equal(MemoryMarshal.AsBytes(values.AsSpan((int)(row * c), (int)(rows * c))).ToArray(), bytes.ToArray());
            }
        }
    }

    public static TheoryData<string, string, string, string> Refusals => new()
    {
        { "short_factor", ErrorCodes.ConfigInvalid, """{"rope_scaling":{"type":"longrope","short_factor":[1,1,1],"long_factor":[1,1,1,1,1,1]}}""", "\"rope_scaling.short_factor\" has 3 values" },
        { "odd rotary", ErrorCodes.ConfigInvalid, """{"partial_rotary_factor":0.7,"rope_scaling":null}""", "\"partial_rotary_factor\" gives 11 rotary dimensions" },
        { "linear on phi3", ErrorCodes.UnsupportedConfigValue, """{"rope_scaling":{"rope_type":"linear","factor":2.0}}""", "supported: longrope" },
        { "yarn", ErrorCodes.UnsupportedConfigValue, """{"rope_scaling":{"type":"yarn","factor":4.0}}""", "yarn is not supported for phi3" },
        { "longrope on llama", ErrorCodes.UnsupportedConfigValue, """{"model_type":"llama","partial_rotary_factor":null}""", "longrope is not supported for llama" },
        { "partial on llama", ErrorCodes.UnsupportedConfigValue, """{"model_type":"llama","rope_scaling":null}""", "\"partial_rotary_factor\" is not supported for llama" },
        { "window", ErrorCodes.ConfigInvalid, """{"sliding_window":0}""", "\"sliding_window\" must be a positive integer" },
        { "bias", ErrorCodes.UnsupportedConfigValue, """{"attention_bias":true}""", "\"attention_bias\": true is not supported for phi3" },
    };

    /// <summary>Values the engine does not implement are refused naming the key, with the config file.</summary>
    [Theory]
    [MemberData(nameof(Refusals))]
    public void UnsupportedOrInvalidKeysAreRefused(string what, string code, string patch, string message)
    {
        using var temp = new TempFolder();
        string folder = Build(temp, Phi4);
        string path = Path.Combine(folder, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        foreach (var (key, value) in JsonNode.Parse(patch)!.AsObject()) config[key] = value?.DeepClone();
        File.WriteAllText(path, config.ToJsonString());
        _ = what; // names the case in the test output
        FormatsAssert.Fails(code, path, () => ModelFolder.Open(folder), message);
    }

    /// <summary>
    /// A config.json with every key of Phi-4-mini-instruct's (values as published: 24 heads of 128 over 8 key/value heads,
    /// partial_rotary_factor 0.75, longrope with 48 factors, original context 4096 of 131072, sliding_window 262144, tied;
    /// training-only keys) loads; the derived values are those llama.cpp's converter writes.
    /// </summary>
    [Fact]
    public void APhi4MiniConfigLoads()
    {
        using var temp = new TempFolder();
        string factors = string.Join(",", Enumerable.Range(0, 48).Select(i => (1 + i / 10.0).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        string path = temp.Write("config.json", $$"""
            {"architectures":["Phi3ForCausalLM"],"attention_bias":false,"attention_dropout":0.0,"bos_token_id":199999,
             "embd_pdrop":0.0,"eos_token_id":199999,"full_attn_mod":1,"hidden_act":"silu","hidden_size":3072,
             "initializer_range":0.02,"intermediate_size":8192,"interpolate_factor":1,"lm_head_bias":false,
             "max_position_embeddings":131072,"mlp_bias":false,"model_type":"phi3","num_attention_heads":24,
             "num_hidden_layers":32,"num_key_value_heads":8,"original_max_position_embeddings":4096,"pad_token_id":199999,
             "partial_rotary_factor":0.75,"resid_pdrop":0.0,"rms_norm_eps":1e-05,
             "rope_scaling":{"long_factor":[{{factors}}],"short_factor":[{{factors}}],"type":"longrope"},
             "rope_theta":10000.0,"sliding_window":262144,"tie_word_embeddings":true,"torch_dtype":"bfloat16",
             "transformers_version":"4.45.0","use_cache":true,"vocab_size":200064}
            """);
        var config = ModelConfig.Load(path);
        Assert.Equal(128, config.HeadDim);
        Assert.Equal(96, config.RotaryDims);
        Assert.Equal(48, config.RopeInverseFrequencies().Length);
        Assert.Equal(4096, config.LongropeOriginalContext);
        Assert.Equal(Math.Sqrt(1 + Math.Log(32) / Math.Log(4096)), config.RopeAttentionFactor, 15);
        Assert.Equal(262144, config.AttentionWindow);
        Assert.True(config.HasFusedProjections);

        File.WriteAllText(path, File.ReadAllText(path).Replace("\"lm_head_bias\":false", "\"lm_head_bias\":true", StringComparison.Ordinal));
        FormatsAssert.Fails(ErrorCodes.UnsupportedConfigValue, path, () => ModelConfig.Load(path), "\"lm_head_bias\": true");
    }

    [Fact]
    public void AMissingFusedTensorIsNamed()
    {
        using var temp = new TempFolder();
        string folder = Directory.CreateDirectory(temp.File("unfused")).FullName;
        // A llama checkpoint (separate q/k/v, gate/up) whose config says phi3.
        new SyntheticModelBuilder(SyntheticModelBuilder.Presets.Clean(3, 64)).Build(folder);
        string path = Path.Combine(folder, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config["model_type"] = "phi3";
        File.WriteAllText(path, config.ToJsonString());
        FormatsAssert.Fails(ErrorCodes.TensorMissing, folder, () => ModelFolder.Open(folder), "model.layers.0.self_attn.qkv_proj.weight");
    }

    [Fact]
    public void GgufExportWritesLlamaCppsPhi3Layout()
    {
        using var temp = new TempFolder();
        string folder = Build(temp, Phi4);
        using var model = ModelFolder.Open(folder);
        using var raw = SafetensorsCheckpoint.Open(folder);
        string path = temp.File("phi4.gguf");
        var result = LlamaGgufExporter.Export(model, model.Weights, QuantizationRecipe.Parse("F32"), path, null, default);
        Assert.Equal(new[] { "rope_factors_long.weight", "rope_factors_short.weight" }, result.Tensors.Take(2).Select(t => t.Name));
        using var file = GgufFile.Open(path);
        var m = file.Metadata;
        Assert.Equal("phi3", m.GetString("general.architecture"));
        Assert.Equal(12, m.GetInt32("phi3.rope.dimension_count"));
        Assert.Equal(4096, m.GetInt32("phi3.rope.scaling.original_context_length"));
        Assert.Equal(16384, m.GetInt32("phi3.context_length"));
        Assert.Equal((float)Math.Sqrt(1 + Math.Log(4) / Math.Log(4096)), (float)m.GetFloat("phi3.rope.scaling.attn_factor"));
        Assert.Equal(0, m.GetInt32("phi3.attention.sliding_window"));
        Assert.Null(m.Find("phi3.attention.key_length"));
        float[] Floats(string name) => MemoryMarshal.Cast<byte, float>(file.GetSpan(file.Find(name)!)).ToArray();
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (float)(1 + 6.0 * i / 6)), Floats("rope_factors_long.weight"));
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (float)(1 + 0.5 * i / 6)), Floats("rope_factors_short.weight"));
        for (int layer = 0; layer < model.Config.NumHiddenLayers; layer++)
        {
            string b = $"blk.{layer}.";
            Assert.Null(file.Find(b + "attn_q.weight"));
            Assert.Null(file.Find(b + "attn_k.weight"));
            Assert.Null(file.Find(b + "ffn_gate.weight"));
            Assert.Equal(new long[] { (4 + 2 * 2) * 16, 64 }, file.Find(b + "attn_qkv.weight")!.Shape);
            Assert.Equal(new long[] { 2L * model.Config.IntermediateSize, 64 }, file.Find(b + "ffn_up.weight")!.Shape);
            // No q/k permutation (llama.cpp runs phi3 with the rotate-half RoPE): the stored fused rows as they are.
            Assert.Equal(TensorData.ReadFloat32(raw, raw.Find(Phi3Names.Qkv(layer))!), Floats(b + "attn_qkv.weight"));
            Assert.Equal(TensorData.ReadFloat32(raw, raw.Find(Phi3Names.GateUp(layer))!), Floats(b + "ffn_up.weight"));
        }
        Assert.Null(file.Find("output.weight"));
    }

    [Fact]
    public void WindowAndOriginalContextKeysTravelToGguf()
    {
        using var temp = new TempFolder();
        using var model = ModelFolder.Open(Build(temp, Window));
        string path = temp.File("window.gguf");
        LlamaGgufExporter.Export(model, model.Weights, QuantizationRecipe.Parse("Q8_0"), path, null, default);
        using var file = GgufFile.Open(path);
        Assert.Equal(5, file.Metadata.GetInt32("phi3.attention.sliding_window"));
        Assert.Equal(16, file.Metadata.GetInt32("phi3.rope.dimension_count"));
        Assert.Null(file.Metadata.Find("phi3.rope.scaling.attn_factor"));
        Assert.Null(file.Find("rope_factors_long.weight"));
        Assert.Equal(GgmlType.Q8_0, file.Find("blk.0.attn_qkv.weight")!.Type);
    }

    /// <summary>
    /// llama.cpp's quantizer treats attn_qkv as attn_v (ByteIdentityTests checks the bytes): Q4_K_M gives Q6_K where
    /// use_more_bits holds (layers 2 and 3 of 4), which with rows of 64 falls back to Q8_0, and the default Q4_K (→ Q5_0)
    /// elsewhere; ffn_up keeps the default's fallback.
    /// </summary>
    [Fact]
    public void FusedAttnQkvGetsTheAttnVTypes()
    {
        using var temp = new TempFolder();
        using var model = ModelFolder.Open(Build(temp, Window));
        string path = temp.File("q4km.gguf");
        LlamaGgufExporter.Export(model, model.Weights, QuantizationRecipe.Parse("Q4_K_M"), path, null, default);
        using var file = GgufFile.Open(path);
        Assert.Equal(GgmlType.Q5_0, file.Find("blk.1.attn_qkv.weight")!.Type);
        Assert.Equal(GgmlType.Q8_0, file.Find("blk.2.attn_qkv.weight")!.Type);
        Assert.Equal(GgmlType.Q8_0, file.Find("blk.3.attn_qkv.weight")!.Type);
        Assert.Equal(GgmlType.Q5_0, file.Find("blk.3.ffn_up.weight")!.Type);
    }

    /// <summary>
    /// A phi3 GGUF reads back as the same model: partial rotary from rope.dimension_count, the window, longrope from the
    /// rope_factors tensors and attn_factor; the same tensors (attn_qkv / ffn_up split again) and logits within float32
    /// rounding of the factors; exporting the read-back model again writes the same file contents.
    /// </summary>
    [Theory]
    [MemberData(nameof(Variants))]
    public void Phi3GgufReadsBackAsTheSameModel(string name)
    {
        using var temp = new TempFolder();
        using var source = ModelFolder.Open(Build(temp, name));
        string path = temp.File(name + ".gguf");
        LlamaGgufExporter.Export(source, source.Weights, QuantizationRecipe.Parse("F32"), path, null, default);
        using var gguf = ModelFolder.Open(path);
        var a = source.Config;
        var b = gguf.Config;
        Assert.Equal("phi3", b.ModelType);
        Assert.Equal(a.RotaryDims, b.RotaryDims);
        Assert.Equal(a.AttentionWindow, b.AttentionWindow);
        Assert.Equal(a.Rope.Kind, b.Rope.Kind);
        Assert.Equal((float)a.RopeAttentionFactor, (float)b.RopeAttentionFactor);
        Assert.Null(b.Rope.AttentionFactor); // the derived factor is not written into the read-back config
        // The factors travel as F32: the frequencies agree to float precision.
        Assert.All(a.RopeInverseFrequencies(12).Zip(b.RopeInverseFrequencies(12)), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-7 * p.First, $"{p.First} vs {p.Second}"));
        Assert.IsType<FusedTensorSource>(gguf.Weights);
        Assert.Equal(source.Weights.Tensors.Select(t => t.Name), gguf.Weights.Tensors.Select(t => t.Name));
        foreach (var tensor in source.Weights.Tensors)
            Assert.Equal(TensorData.ReadFloat32(source.Weights, tensor), TensorData.ReadFloat32(gguf.Weights, gguf.Weights.Find(tensor.Name)!));
        int[][] batch = RandomModels.Tokens(a.VocabSize, batch: 1, length: 12, seed: 7);
        using var ma = LlamaModel.Create(a, source.Weights, new ModelOptions());
        using var mb = LlamaModel.Create(b, gguf.Weights, new ModelOptions());
        using var la = ma.Forward(batch);
        using var lb = mb.Forward(batch);
        float[] x = la.data<float>().ToArray(), y = lb.data<float>().ToArray();
        double maxAbs = x.Max(Math.Abs), maxDiff = x.Zip(y, (p, q) => Math.Abs(p - q)).Max();
        output.WriteLine($"{name}: GGUF read-back logits differ by {maxDiff / maxAbs:E3} relative");
        Assert.True(maxDiff / maxAbs <= 1e-5, $"{name}: {maxDiff / maxAbs:E3}");

        string again = temp.File(name + ".again.gguf");
        LlamaGgufExporter.Export(gguf, gguf.Weights, QuantizationRecipe.Parse("F32"), again, null, default);
        using var first = GgufFile.Open(path);
        using var second = GgufFile.Open(again);
        Assert.Equal(first.Tensors.Select(t => t.Name), second.Tensors.Select(t => t.Name));
        foreach (var t in first.Tensors) Assert.True(first.GetSpan(t).SequenceEqual(second.GetSpan(second.Find(t.Name)!)), t.Name);
        foreach (string key in new[] { "phi3.rope.dimension_count", "phi3.attention.sliding_window", "phi3.rope.scaling.attn_factor", "phi3.rope.scaling.original_context_length", "phi3.context_length" })
            Assert.Equal(first.Metadata.Find(key)?.Value, second.Metadata.Find(key)?.Value);
    }

    /// <summary>
    /// The safetensors export writes phi3 as its checkpoints store it (qkv_proj, gate_up_proj; no q_proj…), and the folder
    /// opens again as the same model: F32 bit-identical, int4 with each part equal to its own int4 round trip (per-row
    /// groups: the fused rows quantize as the parts do).
    /// </summary>
    [Theory]
    [InlineData(HfWeightFormat.Float)]
    [InlineData(HfWeightFormat.Int4)]
    public void SafetensorsExportWritesPhi3FusedAndOpensAgain(HfWeightFormat format)
    {
        using var temp = new TempFolder();
        string folder = Build(temp, Phi4);
        using var model = ModelFolder.Open(folder);
        string target = temp.File("exported");
        HfFolderExporter.Export(model, model.Weights, new HfExportOptions { Format = format, FloatDType = DType.F32, GroupSize = 32 }, target);
        using (var raw = SafetensorsCheckpoint.Open(target))
        {
            Assert.NotNull(raw.Find(Phi3Names.Qkv(0)));
            Assert.NotNull(raw.Find(Phi3Names.GateUp(3)));
            Assert.Null(raw.Find("model.layers.0.self_attn.q_proj.weight"));
            Assert.Null(raw.Find("model.layers.0.mlp.up_proj.weight"));
        }
        using var again = ModelFolder.Open(target);
        Assert.Equal("phi3", again.Config.ModelType);
        Assert.Equal(0.75, again.Config.PartialRotaryFactor);
        Assert.Equal(RopeScalingKind.Longrope, again.Config.Rope.Kind);
        var roundTrip = new IntRoundTrip(model.Config, 4, 32);
        foreach (var tensor in model.Weights.Tensors)
        {
            float[] original = TensorData.ReadFloat32(model.Weights, tensor), read = TensorData.ReadFloat32(again.Weights, again.Weights.Find(tensor.Name)!);
            if (format == HfWeightFormat.Int4 && roundTrip.Quantizes(tensor.Name))
            {
                var expected = new float[original.Length];
                Assert.True(roundTrip.TryRoundTrip(tensor.Name, original, tensor.Shape[0], tensor.Shape[1], expected));
                original = expected;
            }
            Assert.Equal(original, read);
        }
    }
}
