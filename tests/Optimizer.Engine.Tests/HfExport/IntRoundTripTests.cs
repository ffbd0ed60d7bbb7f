using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.HfExport;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Tests.Model;

namespace Optimizer.Engine.Tests.HfExport;

/// <summary>IntRoundTrip: which tensors it quantizes, its names, its values, and option validation.</summary>
public sealed class IntRoundTripTests
{
    private static readonly ModelConfig Config = RandomModels.Config(ExportModels.Spec);

    [Fact]
    public void OnlyLinearWeightsAreQuantizedAndEmbeddingsOnlyOnRequest()
    {
        var plain = new IntRoundTrip(Config, 8);
        var withEmbeddings = new IntRoundTrip(Config, 4, 32, quantizeEmbeddings: true);
        foreach (var (role, _, name, _) in LlamaTensorNames.Expected(Config))
        {
            bool linear = role is TensorRole.Q or TensorRole.K or TensorRole.V or TensorRole.O or TensorRole.Gate or TensorRole.Up or TensorRole.Down;
            bool embedding = role is TensorRole.TokenEmbedding or TensorRole.OutputHead;
            Assert.Equal(linear, plain.Quantizes(name));
            Assert.Equal(linear || embedding, withEmbeddings.Quantizes(name));
        }
        Assert.False(plain.Quantizes("model.layers.0.self_attn.q_proj.bias"));
        Assert.False(plain.Quantizes("not.a.tensor"));
    }

    [Fact]
    public void NamesSayBitsGroupAndScaleType()
    {
        Assert.Equal("int8", new IntRoundTrip(Config, 8).Name);
        Assert.Equal("int4-g128", new IntRoundTrip(Config, 4).Name);
        Assert.Equal("int4-g32", new IntRoundTrip(Config, 4, 32).Name);
        Assert.Equal("int8-f32scale", new IntRoundTrip(Config, 8, scaleType: DType.F32).Name);
        Assert.Equal(0, new IntRoundTrip(Config, 8, 32).GroupSize);
    }

    [Fact]
    public void TryRoundTripQuantizesSelectedTensorsAndLeavesOthersUntouched()
    {
        var scheme = new IntRoundTrip(Config, 4, 32);
        string q = LlamaTensorNames.Name(TensorRole.Q, 1);
        float[] values = IntKernelTests.Gaussian(32 * 32, seed: 5);
        var restored = new float[values.Length];
        Assert.True(scheme.TryRoundTrip(q, values, 32, 32, restored));
        var packed = new byte[values.Length / 2];
        var scales = new float[32];
        Int4Grouped.Quantize(values, 32, 32, 32, DType.F16, packed, scales);
        var expected = new float[values.Length];
        Int4Grouped.Dequantize(packed, scales, 32, 32, 32, expected);
        Assert.Equal(expected, restored);

        var untouched = new float[32];
        Array.Fill(untouched, 42f);
        Assert.False(scheme.TryRoundTrip(LlamaTensorNames.Name(TensorRole.AttnNorm, 1), new float[32], 1, 32, untouched));
        Assert.All(untouched, v => Assert.Equal(42f, v));
        Assert.False(scheme.TryRoundTrip(LlamaTensorNames.Name(TensorRole.TokenEmbedding), new float[257 * 32], 257, 32, new float[257 * 32]));
        Assert.Throws<ArgumentException>(() => scheme.TryRoundTrip(q, values, 16, 64, restored));
    }

    [Fact]
    public void RoundTripErrorsNameTheTensor()
    {
        var scheme = new IntRoundTrip(Config, 8);
        string down = LlamaTensorNames.Name(TensorRole.Down, 0);
        var values = new float[32 * 48];
        values[100] = float.NaN;
        var ex = Assert.Throws<OptimizerException>(() => scheme.TryRoundTrip(down, values, 32, 48, new float[values.Length]));
        Assert.Equal(ErrorCodes.IntQuantNonFinite, ex.Code);
        Assert.Contains(down, ex.Message);
    }

    [Theory]
    [InlineData(3, 128, DType.F16)]
    [InlineData(16, 128, DType.F16)]
    [InlineData(4, 64, DType.F16)]
    [InlineData(4, 0, DType.F16)]
    [InlineData(8, 0, DType.BF16)]
    [InlineData(4, 32, DType.I8)]
    public void BadSchemesAreRefused(int bits, int group, DType scale)
    {
        var ex = Assert.Throws<OptimizerException>(() => new IntRoundTrip(Config, bits, group, scaleType: scale));
        Assert.Equal(ErrorCodes.HfExportOptionInvalid, ex.Code);
    }

    [Theory]
    [InlineData("q4")]
    [InlineData("int2")]
    [InlineData("")]
    [InlineData("Q8_0")]
    public void UnknownQuantizationNamesAreRefused(string name)
    {
        var ex = Assert.Throws<OptimizerException>(() => HfExportOptions.Parse(name));
        Assert.Equal(ErrorCodes.HfExportOptionInvalid, ex.Code);
    }

    [Fact]
    public void QuantizationNamesParse()
    {
        Assert.Equal(new HfExportOptions { FloatDType = DType.BF16 }, HfExportOptions.Parse("bf16"));
        Assert.Equal(new HfExportOptions { Format = HfWeightFormat.Int8 }, HfExportOptions.Parse("INT8"));
        Assert.Equal(new HfExportOptions { Format = HfWeightFormat.Int4, GroupSize = 32 }, HfExportOptions.Parse("int4", 32));
        Assert.Equal(ErrorCodes.HfExportOptionInvalid, HfExportOptionInvalid(() => HfExportOptions.Parse("int4", 100)));
    }

    [Fact]
    public void BadExportOptionsAreRefused()
    {
        var bad = new[]
        {
            new HfExportOptions { FloatDType = DType.I8 },
            new HfExportOptions { MaxShardBytes = 0 },
            new HfExportOptions { Format = HfWeightFormat.Int4, GroupSize = 64 },
            new HfExportOptions { Format = HfWeightFormat.Int8, ScaleDType = DType.BF16 },
            new HfExportOptions { Format = (HfWeightFormat)7 },
        };
        foreach (var options in bad) Assert.Equal(ErrorCodes.HfExportOptionInvalid, HfExportOptionInvalid(options.Validate));
        new HfExportOptions { Format = HfWeightFormat.Float, GroupSize = 64 }.Validate(); // group size only matters for int4
    }

    private static string HfExportOptionInvalid(Action action) => Assert.Throws<OptimizerException>(action).Code;

    private static string HfExportOptionInvalid(Func<object> action) => Assert.Throws<OptimizerException>(action).Code;
}
