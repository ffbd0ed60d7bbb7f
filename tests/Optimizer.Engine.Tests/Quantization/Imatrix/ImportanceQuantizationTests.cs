using Optimizer.Engine.Formats;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Quantization.Imatrix;

namespace Optimizer.Engine.Tests.Quantization.Imatrix;

/// <summary>
/// The importance overload of <see cref="GgmlQuantizer.QuantizeMatrix(GgmlType, ReadOnlySpan{float}, long, long, ReadOnlySpan{float})"/>
/// as it stands until the importance-weighted kernels land: no weights or a type whose ggml quantizer ignores them gives
/// the reference bytes; every other type fits to the weights; weights of the wrong length fail with OOPT1101.
/// </summary>
public sealed class ImportanceQuantizationTests
{
    [Theory]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q4_K)]
    public void Without_importance_the_bytes_are_the_reference_path(GgmlType type)
    {
        float[] x = RandomData.Mixed(new Random(2), 8 * 256);
        Assert.Equal(GgmlQuantizer.QuantizeMatrix(type, x, 8, 256), GgmlQuantizer.QuantizeMatrix(type, x, 8, 256, ReadOnlySpan<float>.Empty));
    }

    [Theory]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    [InlineData(GgmlType.F32)]
    public void Types_whose_ggml_quantizer_ignores_the_importance_give_the_same_bytes(GgmlType type)
    {
        Assert.True(GgmlQuantizer.IgnoresImportance(type));
        float[] x = RandomData.Mixed(new Random(4), 4 * 256);
        float[] importance = RandomData.Gaussian(new Random(5), 256).Select(MathF.Abs).ToArray();
        Assert.Equal(GgmlQuantizer.QuantizeMatrix(type, x, 4, 256), GgmlQuantizer.QuantizeMatrix(type, x, 4, 256, importance));
    }

    [Theory]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q6_K)]
    public void Importance_weighted_types_use_the_weights(GgmlType type)
    {
        Assert.False(GgmlQuantizer.IgnoresImportance(type));
        float[] x = RandomData.Mixed(new Random(4), 4 * 256);
        var importance = new float[256];
        for (int i = 0; i < importance.Length; i++) importance[i] = i % 7 == 0 ? 100f : 0.01f;
        // Bytes against ggml are checked in Optimizer.LlamaCpp.Tests (KernelFuzzTests); here: the weights change the fit.
        Assert.NotEqual(GgmlQuantizer.QuantizeMatrix(type, x, 4, 256), GgmlQuantizer.QuantizeMatrix(type, x, 4, 256, importance));
    }

    [Fact]
    public void Importance_of_the_wrong_length_is_a_shape_error()
    {
        float[] x = new float[4 * 256];
        foreach (var type in new[] { GgmlType.Q8_0, GgmlType.Q4_0 })
        {
            var ex = Assert.Throws<OptimizerException>(() => GgmlQuantizer.QuantizeMatrix(type, x, 4, 256, new float[255]));
            Assert.Equal(ErrorCodes.QuantizationShapeInvalid, ex.Code);
        }
    }

    [Fact]
    public void The_gguf_round_trip_quantizes_with_the_importance_of_each_tensor()
    {
        ModelConfig config = ImatrixFileTests.Config;
        ImportanceMatrix importance = ImatrixFileTests.Sample();
        string q = LlamaTensorNames.Name(TensorRole.Q, 1);
        float[] x = RandomData.Gaussian(new Random(8), 64 * 64, 0.05f);
        var plain = new float[x.Length];
        var weighted = new float[x.Length];
        Assert.True(new GgufRoundTrip(QuantizationRecipe.Parse("Q8_0"), config).TryRoundTrip(q, x, 64, 64, plain));
        Assert.True(new GgufRoundTrip(QuantizationRecipe.Parse("Q8_0"), config, importance).TryRoundTrip(q, x, 64, 64, weighted));
        Assert.Equal(plain, weighted);   // Q8_0 ignores the importance, as in ggml
        var q4 = new GgufRoundTrip(QuantizationRecipe.Parse("Q4_0"), config, importance);
        Assert.Same(importance, q4.Importance);
        Assert.True(q4.TryRoundTrip(q, x, 64, 64, weighted));
        var q4Plain = new float[x.Length];
        Assert.True(new GgufRoundTrip(QuantizationRecipe.Parse("Q4_0"), config).TryRoundTrip(q, x, 64, 64, q4Plain));
        Assert.NotEqual(q4Plain, weighted);   // Q4_0 fits its scales to the importance-weighted error
        // a tensor without an entry (the token embedding) quantizes as without an importance matrix
        float[] e = RandomData.Gaussian(new Random(9), 300 * 64, 0.05f);
        Assert.True(q4.TryRoundTrip(LlamaTensorNames.Name(TensorRole.TokenEmbedding), e, 300, 64, new float[e.Length]));
    }
}
