using Optimizer.Engine.Formats;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Tests.Quantization;

public class QuantizationRecipeTests
{
    private static ModelConfig Llama(int layers = 16, int intermediate = 768, bool tied = false, int hidden = 256) => new()
    {
        ModelType = "llama",
        VocabSize = 1000,
        HiddenSize = hidden,
        IntermediateSize = intermediate,
        NumHiddenLayers = layers,
        NumAttentionHeads = 8,
        NumKeyValueHeads = 4,
        TieWordEmbeddings = tied,
    };

    private static Dictionary<string, GgmlType> Types(string recipe, ModelConfig config)
    {
        var r = QuantizationRecipe.Parse(recipe);
        return LlamaTensorNames.Expected(config).ToDictionary(t => t.Name, t => r.TypeFor(t.Name, t.Role, t.Layer, t.Shape, config));
    }

    [Theory]
    [InlineData("F32", "F32", LlamaFileType.AllF32)]
    [InlineData("f16", "F16", LlamaFileType.MostlyF16)]
    [InlineData("bf16", "BF16", LlamaFileType.MostlyBF16)]
    [InlineData("q8_0", "Q8_0", LlamaFileType.MostlyQ8_0)]
    [InlineData("Q4_0", "Q4_0", LlamaFileType.MostlyQ4_0)]
    [InlineData(" q4_k ", "Q4_K", LlamaFileType.MostlyQ4_K_S)]
    [InlineData("Q6_K", "Q6_K", LlamaFileType.MostlyQ6_K)]
    [InlineData("q4_k_m", "Q4_K_M", LlamaFileType.MostlyQ4_K_M)]
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
        Assert.Equal(new uint[] { 0, 1, 32, 7, 2, 14, 18, 15 },
            QuantizationRecipe.Names.Select(n => (uint)QuantizationRecipe.Parse(n).FileType).ToArray());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("Q5_0", "Q4_K_M")]
    [InlineData("Q4_K_M,output", "kind=TYPE")]
    [InlineData("Q4_K_M,lm_head=Q8_0", "ffn_down")]
    [InlineData("Q4_K_M,output=Q5_K", "Q6_K")]
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
    [InlineData("Q4_K", GgmlType.Q4_K, GgmlType.Q6_K)]
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

    [Fact]
    public void Rows_that_are_not_whole_blocks_fall_back()
    {
        // intermediate 800: rows of ffn_down are 800 long (not a multiple of 256, a multiple of 32).
        var types = Types("Q4_K_M", Llama(intermediate: 800));
        Assert.Equal(GgmlType.Q8_0, types[LlamaTensorNames.Name(TensorRole.Down, 0)]); // Q6_K -> Q8_0 (llama.cpp)
        Assert.Equal(GgmlType.Q8_0, types[LlamaTensorNames.Name(TensorRole.Down, 2)]); // Q4_K -> Q8_0 (llama.cpp: Q5_0)
        Assert.Equal(GgmlType.Q4_K, types[LlamaTensorNames.Name(TensorRole.Up, 2)]);    // rows of 256

        // hidden 80: every row is 80 long; Q4_0 rows of 80 are not whole blocks of 32 -> F16, head -> Q8_0 -> F16.
        var small = Types("Q4_0", Llama(hidden: 80, intermediate: 256));
        Assert.Equal(GgmlType.F16, small[LlamaTensorNames.Name(TensorRole.Q, 0)]);
        Assert.Equal(GgmlType.F16, small["lm_head.weight"]);
        Assert.Equal(GgmlType.Q4_0, small[LlamaTensorNames.Name(TensorRole.Down, 0)]); // rows of 256

        // hidden 96 with a K-quant: head rows of 96 -> Q8_0 (llama.cpp's nx % qk_k rule).
        Assert.Equal(GgmlType.Q8_0, Types("Q6_K", Llama(hidden: 96, intermediate: 256))["lm_head.weight"]);
    }

    [Fact]
    public void UseMoreBits_matches_llama_cpp_for_32_layers()
    {
        int[] expected = { 0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31 };
        Assert.Equal(expected, Enumerable.Range(0, 32).Where(i => QuantizationRecipe.UseMoreBits(i, 32)).ToArray());
    }
}
