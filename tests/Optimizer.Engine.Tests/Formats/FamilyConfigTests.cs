using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Formats;

/// <summary>
/// The config.json files of today's small models, with every key their Hugging Face families write (values as in
/// Llama-3.2-1B-Instruct and Qwen3-0.6B), load; the schemes and families the engine does not implement are refused
/// with the key and the supported alternatives.
/// </summary>
public sealed class FamilyConfigTests
{
    private const string Llama32 = """
        {
          "architectures": ["LlamaForCausalLM"],
          "attention_bias": false,
          "attention_dropout": 0.0,
          "bos_token_id": 128000,
          "eos_token_id": [128001, 128008, 128009],
          "head_dim": 64,
          "hidden_act": "silu",
          "hidden_size": 2048,
          "initializer_range": 0.02,
          "intermediate_size": 8192,
          "max_position_embeddings": 131072,
          "mlp_bias": false,
          "model_type": "llama",
          "num_attention_heads": 32,
          "num_hidden_layers": 16,
          "num_key_value_heads": 8,
          "pretraining_tp": 1,
          "rms_norm_eps": 1e-05,
          "rope_scaling": {
            "factor": 32.0,
            "high_freq_factor": 4.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 8192,
            "rope_type": "llama3"
          },
          "rope_theta": 500000.0,
          "tie_word_embeddings": true,
          "torch_dtype": "bfloat16",
          "transformers_version": "4.45.0.dev0",
          "use_cache": true,
          "vocab_size": 128256
        }
        """;

    private const string Qwen3 = """
        {
          "architectures": ["Qwen3ForCausalLM"],
          "attention_bias": false,
          "attention_dropout": 0.0,
          "bos_token_id": 151643,
          "eos_token_id": 151645,
          "head_dim": 128,
          "hidden_act": "silu",
          "hidden_size": 1024,
          "initializer_range": 0.02,
          "intermediate_size": 3072,
          "max_position_embeddings": 40960,
          "max_window_layers": 28,
          "model_type": "qwen3",
          "num_attention_heads": 16,
          "num_hidden_layers": 28,
          "num_key_value_heads": 8,
          "rms_norm_eps": 1e-06,
          "rope_scaling": null,
          "rope_theta": 1000000,
          "sliding_window": null,
          "tie_word_embeddings": true,
          "torch_dtype": "bfloat16",
          "transformers_version": "4.51.0",
          "use_cache": true,
          "use_sliding_window": false,
          "vocab_size": 151936
        }
        """;

    [Fact]
    public void Llama32ConfigLoadsWithItsRopeScaling()
    {
        using var temp = new TempFolder();
        var config = Load(temp, Llama32);
        Assert.Equal(new RopeScaling(RopeScalingKind.Llama3, 32, 1, 4, 8192), config.Rope);
        Assert.Equal(64, config.HeadDim);
        Assert.Equal(128001, config.EosTokenId);
        double[] divisors = config.Rope.Divisors(config.HeadDim, config.RopeTheta);
        Assert.Equal(32, divisors.Length);
        // The highest frequencies are kept, the lowest divided by the factor, and the divisors never decrease in between.
        Assert.Equal(1.0, divisors[0]);
        Assert.Equal(32.0, divisors[^1]);
        for (int i = 1; i < divisors.Length; i++) Assert.True(divisors[i] >= divisors[i - 1]);
        Assert.Contains(divisors, d => d > 1 && d < 32);
        Assert.Contains("\"rope_type\": \"llama3\"", config.ToJson());
    }

    [Fact]
    public void Qwen3ConfigLoadsWithItsQkNorms()
    {
        using var temp = new TempFolder();
        var config = Load(temp, Qwen3);
        Assert.True(config.HasQkNorm);
        Assert.False(config.HasQkvBias);
        Assert.False(config.HasOutputBias);
        Assert.Equal(128, config.HeadDim);
        Assert.Equal(RopeScaling.None, config.Rope);
        Assert.Contains(LlamaTensorNames.Expected(config), e => e.Name == "model.layers.27.self_attn.k_norm.weight" && e.Shape.SequenceEqual(new long[] { 128 }));
    }

    [Theory]
    [InlineData("""{"rope_type":"dynamic","factor":2.0}""", ErrorCodes.UnsupportedConfigValue, "llama.cpp has no such mode")]
    [InlineData("""{"rope_type":"yarn","factor":4.0,"original_max_position_embeddings":32768,"beta_fast":16}""", ErrorCodes.UnsupportedConfigValue, "beta_fast")]
    [InlineData("""{"rope_type":"yarn","factor":4.0,"attention_factor":1.2}""", ErrorCodes.UnsupportedConfigValue, "attention_factor")]
    [InlineData("""{"rope_type":"yarn","factor":0.5}""", ErrorCodes.ConfigInvalid, "at least 1")]
    [InlineData("""{"rope_type":"ntk","factor":2.0}""", ErrorCodes.UnsupportedConfigValue, "supported: linear, llama3, yarn")]
    [InlineData("""{"rope_type":"llama3","factor":8.0,"low_freq_factor":4.0,"high_freq_factor":1.0,"original_max_position_embeddings":8192}""", ErrorCodes.ConfigInvalid, "high_freq_factor")]
    [InlineData("""{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0}""", ErrorCodes.ConfigInvalid, "original_max_position_embeddings")]
    [InlineData("""{"type":"linear","factor":0}""", ErrorCodes.ConfigInvalid, "rope_scaling.factor")]
    [InlineData("""{"factor":2.0}""", ErrorCodes.ConfigInvalid, "rope_type")]
    [InlineData("""[2.0]""", ErrorCodes.ConfigInvalid, "must be an object")]
    public void UnsupportedOrInvalidRopeScalingIsRefused(string scaling, string code, string fragment)
    {
        using var temp = new TempFolder();
        string json = Llama32.Replace(Llama32[Llama32.IndexOf("\"rope_scaling\"", StringComparison.Ordinal)..(Llama32.IndexOf("\"rope_theta\"", StringComparison.Ordinal))],
            "\"rope_scaling\": " + scaling + ",\n  ");
        string path = temp.File("config.json");
        File.WriteAllText(path, json);
        FormatsAssert.Fails(code, path, () => ModelConfig.Load(path), fragment);
    }

    [Theory]
    [InlineData("qwen3_moe", "mixture-of-experts")]
    [InlineData("mixtral", "mixture-of-experts")]
    [InlineData("gpt_neox", "is not supported; supported: llama, mistral, qwen2")]
    public void UnsupportedFamiliesNameTheSupportedOnes(string modelType, string fragment)
    {
        using var temp = new TempFolder();
        string path = temp.File("config.json");
        File.WriteAllText(path, Qwen3.Replace("\"model_type\": \"qwen3\"", $"\"model_type\": \"{modelType}\""));
        FormatsAssert.Fails(ErrorCodes.UnsupportedArchitecture, path, () => ModelConfig.Load(path), fragment);
    }

    [Fact]
    public void Qwen3WithProjectionBiasesIsRefused()
    {
        using var temp = new TempFolder();
        string path = temp.File("config.json");
        File.WriteAllText(path, Qwen3.Replace("\"attention_bias\": false", "\"attention_bias\": true"));
        FormatsAssert.Fails(ErrorCodes.UnsupportedConfigValue, path, () => ModelConfig.Load(path), "attention_bias");
    }

    private static ModelConfig Load(TempFolder temp, string json)
    {
        string path = temp.File("config.json");
        File.WriteAllText(path, json);
        return ModelConfig.Load(path);
    }
}
