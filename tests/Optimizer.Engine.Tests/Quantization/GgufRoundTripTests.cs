using Optimizer.Engine.Formats;
using Optimizer.Engine.Quantization;

namespace Optimizer.Engine.Tests.Quantization;

public class GgufRoundTripTests
{
    private static readonly ModelConfig Config = new()
    {
        ModelType = "llama",
        VocabSize = 300,
        HiddenSize = 256,
        IntermediateSize = 512,
        NumHiddenLayers = 8,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
    };

    [Fact]
    public void Restores_exactly_the_dequantized_bytes_of_the_chosen_type()
    {
        var rt = new GgufRoundTrip(QuantizationRecipe.Parse("Q4_K_M"), Config);
        Assert.Equal("Q4_K_M", rt.Name);
        string v0 = LlamaTensorNames.Name(TensorRole.V, 0); // use_more_bits layer -> Q6_K
        string q3 = LlamaTensorNames.Name(TensorRole.Q, 3);
        foreach (var (name, rows, type) in new[] { (v0, 128L, GgmlType.Q6_K), (q3, 256L, GgmlType.Q4_K), ("lm_head.weight", 300L, GgmlType.Q6_K) })
        {
            Assert.Equal(type, rt.TypeOf(name));
            float[] x = RandomData.Gaussian(new Random(11), (int)(rows * 256), 0.05f);
            var restored = new float[x.Length];
            Assert.True(rt.TryRoundTrip(name, x, rows, 256, restored));
            var expected = new float[x.Length];
            var bytes = new byte[GgmlTypes.ByteCount(type, x.Length)];
            GgmlQuantizer.Quantize(type, x, bytes);
            GgmlQuantizer.Dequantize(type, bytes, expected);
            Assert.Equal(expected, restored);
        }
    }

    [Fact]
    public void Norms_unknown_names_and_F32_are_left_alone()
    {
        var rt = new GgufRoundTrip(QuantizationRecipe.Parse("Q8_0"), Config);
        var restored = new float[256];
        restored[0] = 42f;
        Assert.False(rt.TryRoundTrip("model.norm.weight", new float[256], 1, 256, restored));
        Assert.False(rt.TryRoundTrip("model.layers.99.mlp.up_proj.weight", new float[256], 1, 256, restored));
        Assert.Null(rt.TypeOf("model.layers.99.mlp.up_proj.weight"));
        var f32 = new GgufRoundTrip(QuantizationRecipe.Parse("F32"), Config);
        Assert.False(f32.TryRoundTrip(LlamaTensorNames.Name(TensorRole.Up, 0), new float[512 * 256], 512, 256, new float[512 * 256]));
        Assert.Equal(42f, restored[0]);
    }

    [Fact]
    public void F16_round_trip_is_ggml_rounding()
    {
        var rt = new GgufRoundTrip(QuantizationRecipe.Parse("F16"), Config);
        float[] x = RandomData.Gaussian(new Random(2), 512 * 256);
        var restored = new float[x.Length];
        Assert.True(rt.TryRoundTrip(LlamaTensorNames.Name(TensorRole.Gate, 1), x, 512, 256, restored));
        for (int i = 0; i < x.Length; i += 97)
            Assert.Equal((float)(Half)x[i], restored[i]);
    }

    [Fact]
    public void Relative_rmse_edge_cases()
    {
        Assert.Equal(0, QuantizationError.RelativeRmse(new float[3], new float[3]));
        Assert.Equal(double.PositiveInfinity, QuantizationError.RelativeRmse(new float[] { 0, 0 }, new float[] { 0, 1 }));
        Assert.Equal(0.5, QuantizationError.RelativeRmse(new float[] { 2, 0 }, new float[] { 1, 0 }), 12);
        Assert.Throws<ArgumentException>(() => QuantizationError.RelativeRmse(new float[2], new float[3]));
    }
}
