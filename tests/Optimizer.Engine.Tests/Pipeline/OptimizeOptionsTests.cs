using Optimizer.Engine.Formats;
using Optimizer.Engine.Pipeline;

namespace Optimizer.Engine.Tests.Pipeline;

/// <summary>Option validation, percentages, sizes, the gate's verdict and the memory estimate (no model run).</summary>
public sealed class OptimizeOptionsTests
{
    private static OptimizeOptions Valid => new() { Model = "models/tiny", Output = "out" };

    [Fact]
    public void Defaults_are_valid_and_derive_quant_name_and_eval_seed()
    {
        Valid.Validate();
        Assert.Equal("Q8_0", Valid.EffectiveQuant);
        Assert.Equal("int8", (Valid with { Format = OutputFormat.Safetensors }).EffectiveQuant);
        Assert.Equal("tiny", Valid.EffectiveOutputName);
        Assert.Equal("llama", (Valid with { Model = "/models/llama.gguf" }).EffectiveOutputName);
        Assert.Equal(43UL, Valid.EffectiveEvalSeed);
        Assert.Equal(0.01, Valid.MaxPplIncrease);
    }

    public static TheoryData<OptimizeOptions, string> Invalid => new()
    {
        { Valid with { Quant = "int4" }, ErrorCodes.OptimizeOptionInvalid },
        { Valid with { Format = OutputFormat.Safetensors, Quant = "Q4_0" }, ErrorCodes.OptimizeOptionInvalid },
        { Valid with { GroupSize = 64 }, ErrorCodes.OptimizeOptionInvalid },
        { Valid with { MaxPplIncrease = -0.01 }, ErrorCodes.OptimizeOptionInvalid },
        { Valid with { FailAboveKld = double.NaN }, ErrorCodes.OptimizeOptionInvalid },
        { Valid with { Device = "tpu" }, ErrorCodes.OptimizeOptionInvalid },
        { Valid with { CalibrationTokens = 10, SequenceLength = 64 }, ErrorCodes.OptimizeOptionInvalid },
        { Valid with { EvalSeed = 42 }, ErrorCodes.OptimizeOptionInvalid },
        { Valid with { OutputName = "a/b" }, ErrorCodes.OptimizeOutputInvalid },
        { Valid with { OutputName = ".." }, ErrorCodes.OptimizeOutputInvalid },
        { Valid with { Mitigations = " " }, ErrorCodes.OptimizeOptionInvalid },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Bad_values_are_rejected_with_their_code(OptimizeOptions options, string code)
    {
        var ex = Assert.Throws<OptimizerException>(options.Validate);
        Assert.Equal(code, ex.Code);
    }

    [Theory]
    [InlineData("/data/models/tiny", "/data/models", OutputFormat.Safetensors)]
    [InlineData("/data/models/tiny.gguf", "/data/models", OutputFormat.Gguf)]
    [InlineData("/data/models/tiny/model.safetensors", "/data/models", OutputFormat.Safetensors)]
    public void An_output_that_would_replace_the_model_is_refused(string model, string output, OutputFormat format)
    {
        var options = new OptimizeOptions { Model = model, Output = output, Format = format, OutputName = "tiny" };
        var ex = Assert.Throws<OptimizerException>(options.Validate);
        Assert.Equal(ErrorCodes.OptimizeOutputInvalid, ex.Code);
        (options with { OutputName = "tiny-q8" }).Validate();
    }

    [Theory]
    [InlineData("2%", 0.02)]
    [InlineData("2", 0.02)]
    [InlineData(" 0.5 % ", 0.005)]
    [InlineData("0", 0)]
    public void Percentages_accept_a_percent_sign_or_a_plain_number(string text, double fraction)
    {
        Assert.True(PercentValue.TryParse(text, out double value));
        Assert.Equal(fraction, value, 12);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1%")]
    [InlineData("two")]
    [InlineData("NaN")]
    [InlineData("%")]
    public void Bad_percentages_are_refused(string text) => Assert.False(PercentValue.TryParse(text, out _));

    [Theory]
    [InlineData("4GiB", 4L << 30)]
    [InlineData("512M", 512L << 20)]
    [InlineData("1.5 kb", 1536)]
    [InlineData("1073741824", 1L << 30)]
    public void Sizes_are_binary(string text, long bytes)
    {
        Assert.True(ByteSize.TryParse(text, out long value));
        Assert.Equal(bytes, value);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5M")]
    [InlineData("5X")]
    [InlineData("")]
    public void Bad_sizes_are_refused(string text) => Assert.False(ByteSize.TryParse(text, out _));

    [Fact]
    public void The_gate_passes_within_its_limits_and_names_every_exceeded_one()
    {
        var written = new VariantResult("quantized", "Q4_0", "none", true, 10.3, 0.03, 0.02, 0.9, 100, null);
        var pass = QualityGate.Evaluate("tiny", 10, written, Valid with { FailAbovePplIncrease = 0.05, FailAboveKld = 0.05 });
        Assert.True(pass.Passed);
        Assert.Null(pass.Reason);
        var fail = QualityGate.Evaluate("tiny", 10, written, Valid with { FailAbovePplIncrease = 0.02, FailAboveKld = 0.01 });
        Assert.False(fail.Passed);
        Assert.Equal("Quality gate failed for model 'tiny' (quantized): perplexity increase 3% (10 -> 10.3) is above the limit 2% "
            + "(fail-above-ppl-increase); KL divergence 0.02 is above the limit 0.01 (fail-above-kld).", fail.Reason);
        Assert.True(QualityGate.Evaluate("tiny", 10, written, Valid).Passed);
    }

    [Fact]
    public void The_memory_estimate_adds_two_layers_the_resident_tensors_per_model_activations_and_logits()
    {
        var config = new ModelConfig
        {
            ModelType = "llama", VocabSize = 1000, HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4,
            TieWordEmbeddings = true,
        };
        var estimate = MemoryEstimate.For(config, new EmptySource(), batchSize: 2, sequenceLength: 16);
        long layer = 4L * (4 * 64 * 64 + 3 * 64 * 128 + 2 * 64);
        Assert.Equal(layer, estimate.LargestLayerBytes);
        Assert.Equal(4L * (1000 * 64 + 64) + 4L * 1000 * 64, estimate.ResidentBytes);
        Assert.Equal(2 * estimate.LargestLayerBytes + 3 * estimate.ResidentBytes + estimate.ActivationBytes + estimate.LogitsBytes, estimate.PeakBytes);
        Assert.Equal(1, estimate.Check(estimate.PeakBytes, "tiny", 7));
        Assert.Equal(3, estimate.Check(estimate.PeakFor(5), "tiny", 7));
        Assert.Equal(7, estimate.Check(long.MaxValue, "tiny", 7));
        var ex = Assert.Throws<OptimizerException>(() => estimate.Check(estimate.PeakBytes - 1, "tiny", 7));
        Assert.Equal(ErrorCodes.MemoryBudgetExceeded, ex.Code);
        Assert.Contains("'tiny'", ex.Message);
    }

    private sealed class EmptySource : ITensorSource
    {
        public IReadOnlyList<TensorInfo> Tensors => Array.Empty<TensorInfo>();

        public TensorInfo? Find(string name) => null;

        public void ReadBytes(TensorInfo tensor, ReadOnlySpanAction<byte, long> onChunk, int maxChunk = 1 << 30) => throw new NotSupportedException();

        public void Dispose()
        {
        }
    }
}
