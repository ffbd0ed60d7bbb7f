using Optimizer.Engine.Formats;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Tests.Quantization;

public class QuantizationRecipeTests
{
    private static ModelConfig Llama(int layers = 16, int intermediate = 768, bool tied = false, int hidden = 256,
        int heads = 8, int kvHeads = 4, string modelType = "llama") => new()
    {
        ModelType = modelType,
        VocabSize = 1000,
        HiddenSize = hidden,
        IntermediateSize = intermediate,
        NumHiddenLayers = layers,
        NumAttentionHeads = heads,
        NumKeyValueHeads = kvHeads,
        TieWordEmbeddings = tied,
    };

    private static Dictionary<string, GgmlType> Types(string recipe, ModelConfig config, bool withImportance = false)
    {
        var r = QuantizationRecipe.Parse(recipe);
        return LlamaTensorNames.Expected(config).ToDictionary(t => t.Name, t => r.TypeFor(t.Name, t.Role, t.Layer, t.Shape, config, withImportance));
    }

    private static GgmlType At(Dictionary<string, GgmlType> types, TensorRole role, int layer) => types[LlamaTensorNames.Name(role, layer)];

    /// <summary>The types of one role in layers 0..n-1.</summary>
    private static GgmlType[] Layers(Dictionary<string, GgmlType> types, TensorRole role, int layers) =>
        Enumerable.Range(0, layers).Select(i => At(types, role, i)).ToArray();

    private static GgmlType[] Expect(int layers, Func<int, GgmlType> type) => Enumerable.Range(0, layers).Select(type).ToArray();

    [Theory]
    [InlineData("F32", "F32", LlamaFileType.AllF32)]
    [InlineData("f16", "F16", LlamaFileType.MostlyF16)]
    [InlineData("bf16", "BF16", LlamaFileType.MostlyBF16)]
    [InlineData("q8_0", "Q8_0", LlamaFileType.MostlyQ8_0)]
    [InlineData("Q4_0", "Q4_0", LlamaFileType.MostlyQ4_0)]
    [InlineData("q4_1", "Q4_1", LlamaFileType.MostlyQ4_1)]
    [InlineData("Q5_0", "Q5_0", LlamaFileType.MostlyQ5_0)]
    [InlineData("Q5_1", "Q5_1", LlamaFileType.MostlyQ5_1)]
    [InlineData("q2_k", "Q2_K", LlamaFileType.MostlyQ2_K)]
    [InlineData("Q3_K_S", "Q3_K_S", LlamaFileType.MostlyQ3_K_S)]
    [InlineData("Q3_K_M", "Q3_K_M", LlamaFileType.MostlyQ3_K_M)]
    [InlineData("q3_k_l", "Q3_K_L", LlamaFileType.MostlyQ3_K_L)]
    [InlineData("Q4_K_S", "Q4_K_S", LlamaFileType.MostlyQ4_K_S)]
    [InlineData("q4_k_m", "Q4_K_M", LlamaFileType.MostlyQ4_K_M)]
    [InlineData("Q5_K_S", "Q5_K_S", LlamaFileType.MostlyQ5_K_S)]
    [InlineData("Q5_K_M", "Q5_K_M", LlamaFileType.MostlyQ5_K_M)]
    [InlineData("Q6_K", "Q6_K", LlamaFileType.MostlyQ6_K)]
    // llama-quantize's aliases (tools/quantize/quantize.cpp): Q3_K, Q4_K and Q5_K are the medium mixes.
    [InlineData("q3_k", "Q3_K_M", LlamaFileType.MostlyQ3_K_M)]
    [InlineData(" q4_k ", "Q4_K_M", LlamaFileType.MostlyQ4_K_M)]
    [InlineData("Q5_K", "Q5_K_M", LlamaFileType.MostlyQ5_K_M)]
    public void Parses_names_case_insensitively_with_llama_cpp_file_types(string text, string canonical, LlamaFileType fileType)
    {
        var recipe = QuantizationRecipe.Parse(text);
        Assert.Equal(canonical, recipe.Text);
        Assert.Equal(fileType, recipe.FileType);
        Assert.Equal(recipe, QuantizationRecipe.Parse(recipe.Text));
    }

    [Fact]
    public void File_type_ids_are_llama_cpps()
    {
        // llama.h's llama_ftype: F32 0, F16 1, BF16 32, Q8_0 7, Q4_0 2, Q4_1 3, Q5_0 8, Q5_1 9, Q2_K 10, Q3_K_S/M/L 11-13,
        // Q4_K_S/M 14-15, Q5_K_S/M 16-17, Q6_K 18.
        Assert.Equal(new uint[] { 0, 1, 32, 7, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18 },
            QuantizationRecipe.Names.Select(n => (uint)QuantizationRecipe.Parse(n).FileType).ToArray());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("IQ4_XS", "Q4_K_M")]
    [InlineData("Q4_K_X", "Q4_K = Q4_K_M")]
    [InlineData("Q2_K_S", "Q3_K_L")]
    [InlineData("Q4_K_M,output", "kind=TYPE")]
    [InlineData("Q4_K_M,lm_head=Q8_0", "ffn_down")]
    [InlineData("Q4_K_M,output=IQ4_XS", "Q5_1")]
    [InlineData("Q4_K_M,output=Q4_K_M", "Q6_K")]
    [InlineData("Q4_K_M,output=Q8_0,output=F16", "twice")]
    [InlineData("Q4_K_M,,", "kind=TYPE")]
    public void Bad_text_is_OOPT1100_naming_the_choices(string text, string mentioned)
    {
        var ex = Assert.Throws<OptimizerException>(() => QuantizationRecipe.Parse(text));
        Assert.Equal("OOPT1100", ex.Code);
        Assert.Contains(mentioned, ex.Message);
    }

    [Fact]
    public void Unknown_name_lists_every_valid_name()
    {
        var ex = Assert.Throws<OptimizerException>(() => QuantizationRecipe.Parse("int3"));
        foreach (string name in QuantizationRecipe.Names)
            Assert.Contains(name, ex.Message);
    }

    [Fact]
    public void Q4_K_M_follows_llama_cpp_on_a_16_layer_llama()
    {
        var config = Llama();
        var types = Types("Q4_K_M", config);
        int[] moreBits = { 0, 1, 4, 7, 10, 13, 14, 15 }; // use_more_bits(i, 16)
        for (int layer = 0; layer < 16; layer++)
        {
            GgmlType expected = moreBits.Contains(layer) ? GgmlType.Q6_K : GgmlType.Q4_K;
            Assert.Equal(expected, types[LlamaTensorNames.Name(TensorRole.V, layer)]);
            Assert.Equal(expected, types[LlamaTensorNames.Name(TensorRole.Down, layer)]);
            Assert.Equal(GgmlType.Q4_K, types[LlamaTensorNames.Name(TensorRole.Q, layer)]);
            Assert.Equal(GgmlType.Q4_K, types[LlamaTensorNames.Name(TensorRole.K, layer)]);
            Assert.Equal(GgmlType.Q4_K, types[LlamaTensorNames.Name(TensorRole.O, layer)]);
            Assert.Equal(GgmlType.Q4_K, types[LlamaTensorNames.Name(TensorRole.Gate, layer)]);
            Assert.Equal(GgmlType.Q4_K, types[LlamaTensorNames.Name(TensorRole.Up, layer)]);
            Assert.Equal(GgmlType.F32, types[LlamaTensorNames.Name(TensorRole.AttnNorm, layer)]);
            Assert.Equal(GgmlType.F32, types[LlamaTensorNames.Name(TensorRole.FfnNorm, layer)]);
        }
        Assert.Equal(GgmlType.Q6_K, types["lm_head.weight"]);
        Assert.Equal(GgmlType.Q4_K, types["model.embed_tokens.weight"]);
        Assert.Equal(GgmlType.F32, types["model.norm.weight"]);
    }

    [Theory]
    [InlineData("Q4_0", GgmlType.Q4_0, GgmlType.Q6_K)]
    [InlineData("Q8_0", GgmlType.Q8_0, GgmlType.Q8_0)]
    [InlineData("Q4_1", GgmlType.Q4_1, GgmlType.Q6_K)]
    [InlineData("Q5_0", GgmlType.Q5_0, GgmlType.Q6_K)]
    [InlineData("Q5_1", GgmlType.Q5_1, GgmlType.Q6_K)]
    [InlineData("Q3_K_S", GgmlType.Q3_K, GgmlType.Q6_K)]
    [InlineData("Q5_K_S", GgmlType.Q5_K, GgmlType.Q6_K)]
    [InlineData("Q6_K", GgmlType.Q6_K, GgmlType.Q6_K)]
    [InlineData("F16", GgmlType.F16, GgmlType.F16)]
    [InlineData("BF16", GgmlType.BF16, GgmlType.BF16)]
    [InlineData("F32", GgmlType.F32, GgmlType.F32)]
    public void Uniform_recipes_treat_the_output_head_like_llama_cpp(string recipe, GgmlType body, GgmlType head)
    {
        var types = Types(recipe, Llama());
        Assert.Equal(head, types["lm_head.weight"]);
        Assert.Equal(body, types["model.embed_tokens.weight"]);
        Assert.Equal(body, types[LlamaTensorNames.Name(TensorRole.V, 0)]);
        Assert.Equal(body, types[LlamaTensorNames.Name(TensorRole.Down, 3)]);
        foreach (var role in new[] { TensorRole.Q, TensorRole.K, TensorRole.V, TensorRole.O, TensorRole.Gate, TensorRole.Up, TensorRole.Down })
            Assert.All(Layers(types, role, 16), t => Assert.Equal(body, t));
        Assert.Equal(GgmlType.F32, types[LlamaTensorNames.Name(TensorRole.AttnNorm, 3)]);
    }

    [Fact]
    public void Tied_embedding_is_quantized_as_the_output_head()
    {
        var types = Types("Q4_0", Llama(tied: true));
        Assert.False(types.ContainsKey("lm_head.weight"));
        Assert.Equal(GgmlType.Q6_K, types["model.embed_tokens.weight"]);
        Assert.Equal(GgmlType.Q8_0, Types("Q4_0,output=Q8_0", Llama(tied: true))["model.embed_tokens.weight"]);
        Assert.Equal(GgmlType.F16, Types("Q4_0,output=Q8_0,token_embd=F16", Llama(tied: true))["model.embed_tokens.weight"]);
    }

    [Fact]
    public void Overrides_replace_the_choice_for_their_kind()
    {
        var types = Types("Q4_K_M,output=Q8_0,attn_v=Q4_0,ffn_gate=BF16", Llama());
        Assert.Equal(GgmlType.Q8_0, types["lm_head.weight"]);
        Assert.Equal(GgmlType.Q4_0, types[LlamaTensorNames.Name(TensorRole.V, 0)]);
        Assert.Equal(GgmlType.BF16, types[LlamaTensorNames.Name(TensorRole.Gate, 5)]);
        Assert.Equal(GgmlType.Q6_K, types[LlamaTensorNames.Name(TensorRole.Down, 0)]);
        Assert.Equal("Q4_K_M,output=Q8_0,attn_v=Q4_0,ffn_gate=BF16", QuantizationRecipe.Parse(" q4_k_m , OUTPUT = q8_0,attn_v=q4_0,ffn_gate=bf16").Text);
    }

    [Theory]
    [InlineData("Q2_K")]
    [InlineData("Q3_K")]
    [InlineData("Q4_1")]
    [InlineData("Q5_0")]
    [InlineData("Q5_1")]
    [InlineData("Q5_K")]
    [InlineData("Q6_K")]
    public void Overrides_accept_every_implemented_type(string type)
    {
        Assert.True(GgmlTypes.TryParse(type, out GgmlType expected));
        var types = Types($"Q4_K_M,attn_q={type.ToLowerInvariant()},token_embd={type}", Llama());
        Assert.All(Layers(types, TensorRole.Q, 16), t => Assert.Equal(expected, t));
        Assert.Equal(expected, types["model.embed_tokens.weight"]);
        Assert.Equal($"Q4_K_M,attn_q={type},token_embd={type}", QuantizationRecipe.Parse($"Q4_K_M,attn_q={type},token_embd={type}").Text);
    }

    [Fact]
    public void Overrides_fall_back_like_llama_cpps_tensor_type_option()
    {
        // ffn_down rows of 800 (a multiple of 32, not of 256): Q5_K -> Q5_1, Q2_K -> Q4_0.
        Assert.Equal(GgmlType.Q5_1, At(Types("Q4_K_M,ffn_down=Q5_K", Llama(intermediate: 800)), TensorRole.Down, 5));
        Assert.Equal(GgmlType.Q4_0, At(Types("F16,ffn_down=Q2_K", Llama(intermediate: 800)), TensorRole.Down, 5));
    }

    [Fact]
    public void Aliases_are_llama_quantizes()
    {
        Assert.Equal(QuantizationRecipe.Parse("Q4_K_M"), QuantizationRecipe.Parse("Q4_K"));
        Assert.Equal(QuantizationRecipe.Parse("Q3_K_M,output=Q8_0"), QuantizationRecipe.Parse("q3_k,output=Q8_0"));
        Assert.Equal(QuantizationRecipe.Parse("Q5_K_M"), QuantizationRecipe.Parse("Q5_K"));
        Assert.Equal(new[] { "Q3_K", "Q4_K", "Q5_K" }, QuantizationRecipe.Aliases.Select(a => a.Key));
        Assert.Equal(Types("Q4_K_M", Llama()), Types("Q4_K", Llama()));
    }

    [Fact]
    public void Rows_that_are_not_whole_blocks_fall_back()
    {
        // intermediate 800: rows of ffn_down are 800 long (not a multiple of 256, a multiple of 32).
        var types = Types("Q4_K_M", Llama(intermediate: 800));
        Assert.Equal(GgmlType.Q8_0, types[LlamaTensorNames.Name(TensorRole.Down, 0)]); // Q6_K -> Q8_0 (llama.cpp)
        Assert.Equal(GgmlType.Q5_0, types[LlamaTensorNames.Name(TensorRole.Down, 2)]); // Q4_K -> Q5_0 (llama.cpp)
        Assert.Equal(GgmlType.Q4_K, types[LlamaTensorNames.Name(TensorRole.Up, 2)]);    // rows of 256

        // hidden 80: every row is 80 long; Q4_0 rows of 80 are not whole blocks of 32 -> F16 (llama.cpp refuses the model:
        // our one deviation), head -> Q8_0 -> F16.
        var small = Types("Q4_0", Llama(hidden: 80, intermediate: 256));
        Assert.Equal(GgmlType.F16, small[LlamaTensorNames.Name(TensorRole.Q, 0)]);
        Assert.Equal(GgmlType.F16, small["lm_head.weight"]);
        Assert.Equal(GgmlType.Q4_0, small[LlamaTensorNames.Name(TensorRole.Down, 0)]); // rows of 256

        // hidden 96 with a K-quant: head rows of 96 -> Q8_0 (llama.cpp's nx % qk_k rule).
        Assert.Equal(GgmlType.Q8_0, Types("Q6_K", Llama(hidden: 96, intermediate: 256))["lm_head.weight"]);
    }

    // The tables below are llama.cpp's llama_tensor_get_type_impl (src/llama-quant.cpp) for a dense, non-Falcon model;
    // on a 16-layer llama n/8 = 2, n/16 = 1 and use_more_bits is {0, 1, 4, 7, 10, 13, 14, 15}.
    private static readonly int[] MoreBits16 = { 0, 1, 4, 7, 10, 13, 14, 15 };

    [Fact]
    public void Q4_K_S_bumps_the_first_four_attn_v_and_the_first_eighth_of_ffn_down_to_Q5_K()
    {
        var types = Types("Q4_K_S", Llama());
        Assert.Equal(Expect(16, i => i < 4 ? GgmlType.Q5_K : GgmlType.Q4_K), Layers(types, TensorRole.V, 16));
        Assert.Equal(Expect(16, i => i < 2 ? GgmlType.Q5_K : GgmlType.Q4_K), Layers(types, TensorRole.Down, 16));
        foreach (var role in new[] { TensorRole.Q, TensorRole.K, TensorRole.O, TensorRole.Gate, TensorRole.Up })
            Assert.All(Layers(types, role, 16), t => Assert.Equal(GgmlType.Q4_K, t));
        Assert.Equal(GgmlType.Q6_K, types["lm_head.weight"]);
        Assert.Equal(GgmlType.Q4_K, types["model.embed_tokens.weight"]);
        // 8 layers: n/8 = 1, so only layer 0's ffn_down.
        Assert.Equal(Expect(8, i => i < 1 ? GgmlType.Q5_K : GgmlType.Q4_K), Layers(Types("Q4_K_S", Llama(layers: 8)), TensorRole.Down, 8));
    }

    [Fact]
    public void Q5_K_M_gives_attn_v_and_ffn_down_Q6_K_in_the_use_more_bits_layers()
    {
        var types = Types("Q5_K_M", Llama());
        GgmlType[] expected = Expect(16, i => MoreBits16.Contains(i) ? GgmlType.Q6_K : GgmlType.Q5_K);
        Assert.Equal(expected, Layers(types, TensorRole.V, 16));
        Assert.Equal(expected, Layers(types, TensorRole.Down, 16));
        Assert.All(Layers(types, TensorRole.O, 16), t => Assert.Equal(GgmlType.Q5_K, t));
        Assert.Equal(GgmlType.Q6_K, types["lm_head.weight"]);
    }

    [Fact]
    public void Q3_K_recipes_follow_llama_cpp()
    {
        var m = Types("Q3_K_M", Llama());
        Assert.Equal(Expect(16, i => i < 2 ? GgmlType.Q5_K : GgmlType.Q4_K), Layers(m, TensorRole.V, 16));
        Assert.Equal(Expect(16, i => i < 1 ? GgmlType.Q5_K : GgmlType.Q4_K), Layers(m, TensorRole.Down, 16)); // n/16 = 1
        Assert.All(Layers(m, TensorRole.O, 16), t => Assert.Equal(GgmlType.Q4_K, t));
        foreach (var role in new[] { TensorRole.Q, TensorRole.K, TensorRole.Gate, TensorRole.Up })
            Assert.All(Layers(m, role, 16), t => Assert.Equal(GgmlType.Q3_K, t));
        Assert.Equal(GgmlType.Q3_K, m["model.embed_tokens.weight"]);
        Assert.Equal(GgmlType.Q6_K, m["lm_head.weight"]);
        // Fewer than 16 layers: n/16 = 0, no ffn_down is Q5_K.
        Assert.All(Layers(Types("Q3_K_M", Llama(layers: 8)), TensorRole.Down, 8), t => Assert.Equal(GgmlType.Q4_K, t));

        var l = Types("Q3_K_L", Llama());
        foreach (var role in new[] { TensorRole.V, TensorRole.Down, TensorRole.O })
            Assert.All(Layers(l, role, 16), t => Assert.Equal(GgmlType.Q5_K, t));
        foreach (var role in new[] { TensorRole.Q, TensorRole.K, TensorRole.Gate, TensorRole.Up })
            Assert.All(Layers(l, role, 16), t => Assert.Equal(GgmlType.Q3_K, t));

        var small = Types("Q3_K_S", Llama());
        foreach (var role in new[] { TensorRole.Q, TensorRole.K, TensorRole.V, TensorRole.O, TensorRole.Gate, TensorRole.Up, TensorRole.Down })
            Assert.All(Layers(small, role, 16), t => Assert.Equal(GgmlType.Q3_K, t));
    }

    [Theory]
    [InlineData(8, 4, GgmlType.Q3_K)] // GQA 2
    [InlineData(8, 8, GgmlType.Q3_K)] // no GQA
    [InlineData(8, 2, GgmlType.Q4_K)] // GQA 4: llama.cpp's n_gqa() >= 4
    [InlineData(32, 4, GgmlType.Q4_K)] // GQA 8
    [InlineData(12, 4, GgmlType.Q3_K)] // GQA 3
    public void Q2_K_bumps_attn_v_by_the_models_grouped_query_attention(int heads, int kvHeads, GgmlType attnV)
    {
        var types = Types("Q2_K", Llama(heads: heads, kvHeads: kvHeads, hidden: 768)); // every row whole blocks of 256
        Assert.All(Layers(types, TensorRole.V, 16), t => Assert.Equal(attnV, t));
        Assert.All(Layers(types, TensorRole.Down, 16), t => Assert.Equal(GgmlType.Q3_K, t));
        Assert.All(Layers(types, TensorRole.O, 16), t => Assert.Equal(GgmlType.Q3_K, t));
        foreach (var role in new[] { TensorRole.Q, TensorRole.K, TensorRole.Gate, TensorRole.Up })
            Assert.All(Layers(types, role, 16), t => Assert.Equal(GgmlType.Q2_K, t));
        Assert.Equal(GgmlType.Q2_K, types["model.embed_tokens.weight"]);
        Assert.Equal(GgmlType.Q6_K, types["lm_head.weight"]);
    }

    [Theory]
    // llama.cpp's LLM_TYPE_70B: llama with 80 layers and GQA (with as many kv heads as heads it is LLaMA-65B), qwen2
    // with 80 layers. attn_v that would be Q3_K or Q4_K becomes Q5_K.
    [InlineData("llama", 80, 64, 8, true)]
    [InlineData("mistral", 80, 64, 8, true)]
    [InlineData("llama", 80, 64, 64, false)]
    [InlineData("llama", 79, 64, 8, false)]
    [InlineData("qwen2", 80, 64, 64, true)]
    public void A_70B_model_gets_Q5_K_attn_v(string modelType, int layers, int heads, int kvHeads, bool is70B)
    {
        var config = Llama(layers: layers, heads: heads, kvHeads: kvHeads, hidden: 512, modelType: modelType);
        var m = Types("Q4_K_M", config);
        for (int i = 0; i < layers; i++)
            Assert.Equal(QuantizationRecipe.UseMoreBits(i, layers) ? GgmlType.Q6_K : is70B ? GgmlType.Q5_K : GgmlType.Q4_K, At(m, TensorRole.V, i));
        Assert.All(Layers(Types("Q3_K_S", config), TensorRole.V, layers), t => Assert.Equal(is70B ? GgmlType.Q5_K : GgmlType.Q3_K, t));
        Assert.Equal(Expect(layers, i => is70B || i < 4 ? GgmlType.Q5_K : GgmlType.Q4_K), Layers(Types("Q4_K_S", config), TensorRole.V, layers));
        Assert.All(Layers(Types("Q2_K", config), TensorRole.V, layers), t => Assert.Equal(is70B ? GgmlType.Q5_K : kvHeads * 4 <= heads ? GgmlType.Q4_K : GgmlType.Q3_K, t));
        // Not a K-quant, not bumped; and only attn_v.
        Assert.All(Layers(Types("Q4_0", config), TensorRole.V, layers), t => Assert.Equal(GgmlType.Q4_0, t));
        Assert.All(Layers(Types("Q3_K_S", config), TensorRole.K, layers), t => Assert.Equal(GgmlType.Q3_K, t));
    }

    [Theory]
    [InlineData("Q4_0", GgmlType.Q4_0, GgmlType.Q4_1)]
    [InlineData("Q5_0", GgmlType.Q5_0, GgmlType.Q5_1)]
    public void With_an_importance_matrix_Q4_0_and_Q5_0_guard_the_first_eighth_of_ffn_down(string recipe, GgmlType body, GgmlType guarded)
    {
        var with = Types(recipe, Llama(), withImportance: true);
        Assert.Equal(Expect(16, i => i < 2 ? guarded : body), Layers(with, TensorRole.Down, 16));
        Assert.All(Layers(with, TensorRole.V, 16), t => Assert.Equal(body, t));
        Assert.Equal(GgmlType.Q6_K, with["lm_head.weight"]);
        // Without one, no guard (llama.cpp: "one can always get the same quantization as before imatrix stuff").
        Assert.All(Layers(Types(recipe, Llama()), TensorRole.Down, 16), t => Assert.Equal(body, t));
        // The old overload means no importance matrix.
        var r = QuantizationRecipe.Parse(recipe);
        var config = Llama();
        string name = LlamaTensorNames.Name(TensorRole.Down, 0);
        long[] shape = LlamaTensorNames.ExpectedShape(TensorRole.Down, config);
        Assert.Equal(body, r.TypeFor(name, TensorRole.Down, 0, shape, config));
        Assert.Equal(guarded, r.TypeFor(name, TensorRole.Down, 0, shape, config, withImportance: true));
    }

    [Theory]
    [InlineData("Q4_1")]
    [InlineData("Q5_1")]
    [InlineData("Q8_0")]
    [InlineData("Q2_K")]
    [InlineData("Q3_K_M")]
    [InlineData("Q4_K_S")]
    [InlineData("Q4_K_M")]
    [InlineData("Q5_K_M")]
    [InlineData("Q6_K")]
    [InlineData("F16")]
    public void An_importance_matrix_changes_no_other_recipes_choice(string recipe) =>
        Assert.Equal(Types(recipe, Llama()), Types(recipe, Llama(), withImportance: true));

    [Theory]
    [InlineData(GgmlType.Q2_K, 672, GgmlType.Q4_0)]
    [InlineData(GgmlType.Q3_K, 672, GgmlType.Q4_0)]
    [InlineData(GgmlType.Q4_K, 672, GgmlType.Q5_0)]
    [InlineData(GgmlType.Q5_K, 672, GgmlType.Q5_1)]
    [InlineData(GgmlType.Q6_K, 672, GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_K, 688, GgmlType.F16)] // Q5_0 does not fit either: llama.cpp's F16
    [InlineData(GgmlType.Q2_K, 688, GgmlType.F16)]
    [InlineData(GgmlType.Q4_K, 512, GgmlType.Q4_K)]
    [InlineData(GgmlType.Q4_0, 672, GgmlType.Q4_0)]
    [InlineData(GgmlType.Q4_0, 688, GgmlType.F16)] // llama.cpp: "no tensor type fallback is defined" (our deviation)
    [InlineData(GgmlType.Q8_0, 688, GgmlType.F16)] // likewise
    [InlineData(GgmlType.Q5_1, 80, GgmlType.F16)]  // likewise
    [InlineData(GgmlType.F16, 7, GgmlType.F16)]
    [InlineData(GgmlType.BF16, 7, GgmlType.BF16)]
    public void Fallback_is_llama_cpps_tensor_type_fallback(GgmlType type, long rowLength, GgmlType expected) =>
        Assert.Equal(expected, QuantizationRecipe.Fallback(type, rowLength));

    [Fact]
    public void Rows_that_are_not_whole_K_quant_blocks_use_llama_cpps_fallbacks_in_every_recipe()
    {
        // hidden 160 (10 heads of 16 over 2 kv heads), intermediate 416, tied: like the byte-identity model h160.
        var config = Llama(layers: 4, hidden: 160, intermediate: 416, heads: 10, kvHeads: 2, tied: true);
        var q4km = Types("Q4_K_M", config);
        Assert.Equal(GgmlType.Q8_0, q4km["model.embed_tokens.weight"]); // output rule: rows of 160 are not Q4_K blocks
        Assert.Equal(new[] { GgmlType.Q5_0, GgmlType.Q5_0, GgmlType.Q8_0, GgmlType.Q8_0 }, Layers(q4km, TensorRole.V, 4)); // Q6_K -> Q8_0 in layers 2, 3
        Assert.Equal(GgmlType.Q5_0, At(q4km, TensorRole.Gate, 1));
        var q2k = Types("Q2_K", config);
        Assert.All(Layers(q2k, TensorRole.V, 4), t => Assert.Equal(GgmlType.Q5_0, t));   // Q4_K (GQA 5) -> Q5_0
        Assert.All(Layers(q2k, TensorRole.Q, 4), t => Assert.Equal(GgmlType.Q4_0, t));   // Q2_K -> Q4_0
        Assert.All(Layers(q2k, TensorRole.Down, 4), t => Assert.Equal(GgmlType.Q4_0, t)); // Q3_K -> Q4_0
        var q5km = Types("Q5_K_M", config);
        Assert.Equal(GgmlType.Q5_1, At(q5km, TensorRole.Q, 0));
        Assert.Equal(GgmlType.Q8_0, q5km["model.embed_tokens.weight"]);
    }

    [Fact]
    public void UseMoreBits_matches_llama_cpp_for_32_layers()
    {
        int[] expected = { 0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31 };
        Assert.Equal(expected, Enumerable.Range(0, 32).Where(i => QuantizationRecipe.UseMoreBits(i, 32)).ToArray());
    }
}
