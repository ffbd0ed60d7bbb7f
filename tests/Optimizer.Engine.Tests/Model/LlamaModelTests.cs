using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using static TorchSharp.torch;

namespace Optimizer.Engine.Tests.Model;

/// <summary>Decoder behaviour: streaming, loading, validation, devices, cancellation, probe wiring.</summary>
public class LlamaModelTests
{
    private static readonly ModelSpec Gqa = new("gqa", Heads: 4, KvHeads: 2, Layers: 3, DType: DType.BF16);

    private static float[] Logits(ModelSpec spec, InMemoryTensorSource source, ModelOptions options, int[][] batch)
    {
        using var model = LlamaModel.Create(RandomModels.Config(spec), source, options);
        using var logits = model.Forward(batch);
        return logits.data<float>().ToArray();
    }

    [Fact]
    public void StreamingLayersGivesIdenticalLogitsAndReadsLayersPerForward()
    {
        using var source = RandomModels.Build(Gqa, seed: 11);
        int[][] batch = RandomModels.Tokens(Gqa.Vocab, 3, 8, seed: 5);
        float[] resident = Logits(Gqa, source, new ModelOptions { StreamLayers = false }, batch);

        string q1 = LlamaTensorNames.Name(TensorRole.Q, 1);
        int before = source.Reads[q1];
        using var model = LlamaModel.Create(RandomModels.Config(Gqa), source, new ModelOptions { StreamLayers = true });
        Assert.Equal(before, source.Reads[q1]); // streaming: layers are not loaded at creation
        using var first = model.Forward(batch);
        using var second = model.Forward(batch);
        Assert.Equal(before + 2, source.Reads[q1]);
        Assert.Equal(resident, first.data<float>().ToArray());
        Assert.Equal(resident, second.data<float>().ToArray());
    }

    [Fact]
    public void UnalignedSmallChunksLoadTheSameWeights()
    {
        using var source = RandomModels.Build(Gqa, seed: 12);
        int[][] batch = RandomModels.Tokens(Gqa.Vocab, 1, 5, seed: 1);
        float[] expected = Logits(Gqa, source, new ModelOptions(), batch);
        source.ForcedChunk = 7;
        Assert.Equal(expected, Logits(Gqa, source, new ModelOptions(), batch));
    }

    [Fact]
    public void CancelledBeforeStartThrows()
    {
        using var source = RandomModels.Build(Gqa, seed: 13);
        using var model = LlamaModel.Create(RandomModels.Config(Gqa), source, new ModelOptions());
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => model.Forward(RandomModels.Tokens(Gqa.Vocab, 1, 4, 0), null, 0, cts.Token));
    }

    [Fact]
    public void CancellationStopsBetweenLayers()
    {
        using var source = RandomModels.Build(Gqa, seed: 13);
        using var model = LlamaModel.Create(RandomModels.Config(Gqa), source, new ModelOptions { StreamLayers = true });
        using var cts = new CancellationTokenSource();
        var probe = new CapturingProbe((_, site) => site == ProbeSite.Y8) { OnObserve = _ => cts.Cancel() };
        Assert.ThrowsAny<OperationCanceledException>(() => model.Forward(RandomModels.Tokens(Gqa.Vocab, 1, 4, 0), probe, 0, cts.Token));
        Assert.Single(probe.Seen);
        Assert.Equal(0, probe.Seen[0].Context.Layer);
        // the model is still usable afterwards
        using var logits = model.Forward(RandomModels.Tokens(Gqa.Vocab, 1, 4, 0));
        Assert.Equal(new long[] { 1, 4, Gqa.Vocab }, logits.shape);
    }

    [Fact]
    public void CudaWithoutCudaIsDeviceUnavailable()
    {
        using var source = RandomModels.Build(Gqa, seed: 14);
        if (cuda.is_available())
        {
            using var model = LlamaModel.Create(RandomModels.Config(Gqa), source, new ModelOptions { Device = "cuda" });
            Assert.Equal(TorchSharp.DeviceType.CUDA, model.TorchDevice.type);
            return;
        }
        var ex = Assert.Throws<OptimizerException>(() => LlamaModel.Create(RandomModels.Config(Gqa), source, new ModelOptions { Device = "cuda" }));
        Assert.Equal(ErrorCodes.DeviceUnavailable, ex.Code);
        using var auto = LlamaModel.Create(RandomModels.Config(Gqa), source, new ModelOptions { Device = "auto" });
        Assert.Equal("cpu", auto.DeviceName);
    }

    [Theory]
    [InlineData("tpu")]
    [InlineData("cuda:x")]
    public void UnknownDeviceIsDeviceInvalid(string device)
    {
        using var source = RandomModels.Build(Gqa, seed: 14);
        var ex = Assert.Throws<OptimizerException>(() => LlamaModel.Create(RandomModels.Config(Gqa), source, new ModelOptions { Device = device }));
        Assert.Equal(ErrorCodes.DeviceInvalid, ex.Code);
    }

    [Fact]
    public void TokenOutsideVocabularyIsReported()
    {
        using var source = RandomModels.Build(Gqa, seed: 15);
        using var model = LlamaModel.Create(RandomModels.Config(Gqa), source, new ModelOptions());
        var ex = Assert.Throws<OptimizerException>(() => model.Forward(new[] { new[] { 1, Gqa.Vocab } }));
        Assert.Equal(ErrorCodes.TokenOutOfRange, ex.Code);
        Assert.Contains("position 1", ex.Message);
    }

    [Fact]
    public void MissingMisshapenOrWronglyTypedTensorsAreRejected()
    {
        ModelConfig config = RandomModels.Config(Gqa);
        string down = LlamaTensorNames.Name(TensorRole.Down, 2);

        using var missing = RandomModels.Build(Gqa, seed: 16);
        missing.Remove(down);
        Assert.Equal(ErrorCodes.TensorMissing, Assert.Throws<OptimizerException>(() => LlamaModel.Create(config, missing, new ModelOptions { StreamLayers = true })).Code);

        using var misshapen = RandomModels.Build(Gqa, seed: 16);
        misshapen.Add(down, DType.F32, new long[] { Gqa.Intermediate, Gqa.Hidden }, new float[Gqa.Intermediate * Gqa.Hidden]);
        var shape = Assert.Throws<OptimizerException>(() => LlamaModel.Create(config, misshapen, new ModelOptions()));
        Assert.Equal(ErrorCodes.TensorShapeMismatch, shape.Code);
        Assert.Contains(down, shape.Message);

        using var integer = RandomModels.Build(Gqa, seed: 16);
        integer.AddRaw(down, DType.I32, new long[] { Gqa.Hidden, Gqa.Intermediate }, new byte[Gqa.Hidden * Gqa.Intermediate * 4]);
        Assert.Equal(ErrorCodes.UnsupportedDType, Assert.Throws<OptimizerException>(() => LlamaModel.Create(config, integer, new ModelOptions())).Code);

        using var truncated = RandomModels.Build(Gqa, seed: 16);
        truncated.AddRaw(down, DType.F32, new long[] { Gqa.Hidden, Gqa.Intermediate }, new byte[10]);
        Assert.Equal(ErrorCodes.TensorShapeMismatch, Assert.Throws<OptimizerException>(() => LlamaModel.Create(config, truncated, new ModelOptions())).Code);
    }

    [Fact]
    public void TokenNllIsNegativeLogSoftmaxOfTheNextToken()
    {
        using var source = RandomModels.Build(Gqa, seed: 17);
        using var model = LlamaModel.Create(RandomModels.Config(Gqa), source, new ModelOptions());
        int[][] batch = RandomModels.Tokens(Gqa.Vocab, 2, 6, seed: 9);
        using var logits = model.Forward(batch);
        using var ids = tensor(batch.SelectMany(r => r.Select(t => (long)t)).ToArray(), new long[] { 2, 6 });
        using var nll = model.TokenNll(ids);
        Assert.Equal(new long[] { 2, 5 }, nll.shape);
        float[] l = logits.data<float>().ToArray();
        float[] n = nll.data<float>().ToArray();
        int V = Gqa.Vocab;
        for (int b = 0; b < 2; b++)
        {
            for (int t = 0; t < 5; t++)
            {
                var row = l.AsSpan((b * 6 + t) * V, V);
                double max = double.NegativeInfinity, z = 0;
                foreach (float x in row) max = Math.Max(max, x);
                foreach (float x in row) z += Math.Exp(x - max);
                double expected = -(row[batch[b][t + 1]] - max - Math.Log(z));
                Assert.Equal(expected, n[b * 5 + t], 4);
            }
        }
    }

    [Fact]
    public void ProbesSeeEverySiteOnceWithConsistentValues()
    {
        var spec = Gqa with { Layers = 2 };
        using var source = RandomModels.Build(spec, seed: 18);
        ModelConfig config = RandomModels.Config(spec);
        using var model = LlamaModel.Create(config, source, new ModelOptions());
        var probe = new CapturingProbe();
        int[][] batch = RandomModels.Tokens(spec.Vocab, 2, 5, seed: 2);
        using var _ = model.Forward(batch, probe, firstTokenIndex: 40);

        Assert.Equal(2 * ProbeSites.For(config).Count, probe.Seen.Count);
        int c = spec.Hidden, kv = spec.KvHeads * config.HeadDim, i = spec.Intermediate;
        var channels = new Dictionary<ProbeSite, int>
        {
            [ProbeSite.AttnQ] = spec.Hidden, [ProbeSite.AttnK] = kv, [ProbeSite.AttnV] = kv,
            [ProbeSite.Y3] = i, [ProbeSite.Y4] = i, [ProbeSite.Y5] = i, [ProbeSite.Y6] = i,
        };
        foreach (var (context, ch, values) in probe.Seen)
        {
            Assert.Equal(channels.GetValueOrDefault(context.Site, c), ch);
            Assert.Equal(10 * ch, values.Length);
            Assert.Equal((2, 5, 40L), (context.BatchSize, context.SequenceLength, context.FirstTokenIndex));
            Assert.Equal(batch.SelectMany(r => r.Select(t => (long)t)), context.TokenIds.ToArray());
        }
        float[] Values(int layer, ProbeSite site) => probe.Get(layer, site).Values;
        Assert.Equal(Values(0, ProbeSite.Y8), Values(1, ProbeSite.AttnY1));
        AssertClose(Add(Values(0, ProbeSite.AttnY1), Values(0, ProbeSite.AttnO)), Values(0, ProbeSite.Y1));
        AssertClose(Add(Values(1, ProbeSite.Y1), Values(1, ProbeSite.Y7)), Values(1, ProbeSite.Y8));
        AssertClose(Values(1, ProbeSite.Y5).Zip(Values(1, ProbeSite.Y4), (a, b) => a * b).ToArray(), Values(1, ProbeSite.Y6));
        float[] y3 = Values(0, ProbeSite.Y3);
        AssertClose(y3.Select(x => x / (1 + MathF.Exp(-x))).ToArray(), Values(0, ProbeSite.Y5));
        float[] normIn = Values(0, ProbeSite.NormIn);
        for (int r = 0; r < 10; r++)
        {
            double ms = normIn.Skip(r * c).Take(c).Sum(x => (double)x * x) / c;
            Assert.Equal(1.0, ms, 3); // x / rms(x) has unit mean square (eps aside)
        }
    }

    [Fact]
    public void SitesNobodyWantsAreNotObserved()
    {
        using var source = RandomModels.Build(Gqa, seed: 19);
        using var model = LlamaModel.Create(RandomModels.Config(Gqa), source, new ModelOptions());
        var none = new CapturingProbe((_, _) => false);
        var some = new CapturingProbe((layer, site) => layer == 2 && site == ProbeSite.AttnOut);
        using var _ = model.Forward(RandomModels.Tokens(Gqa.Vocab, 1, 3, 0), new CompositeProbe(none, some));
        Assert.Empty(none.Seen);
        Assert.Single(some.Seen);
    }

    [Fact]
    public void ProbeSiteIdsAreUniqueAndRoundTrip()
    {
        var ids = ProbeSites.All.Select(ProbeSites.Id).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(Enum.GetValues<ProbeSite>().Length, ids.Count);
        // A plain Llama emits the paper's 17 positions; qwen3 adds its two q/k norm outputs.
        Assert.Equal(17, ProbeSites.For(RandomModels.Config(Gqa)).Count);
        Assert.Equal(19, ProbeSites.For(RandomModels.Config(Gqa with { ModelType = "qwen3" })).Count);
        Assert.Equal("attn.q_norm", ProbeSites.Id(ProbeSite.AttnQNorm));
        Assert.Equal(21, ids.Count); // also Gemma's attn.post_norm/post_norm
        foreach (var site in ProbeSites.All)
        {
            Assert.True(ProbeSites.TryParse(ProbeSites.Id(site), out var parsed));
            Assert.Equal(site, parsed);
        }
        Assert.Equal("y6", ProbeSites.Id(ProbeSite.Y6));
        Assert.Equal("attn.norm_in", ProbeSites.Id(ProbeSite.AttnNormIn));
        Assert.False(ProbeSites.TryParse("y9", out _));
    }

    private static float[] Add(float[] a, float[] b) => a.Zip(b, (x, y) => x + y).ToArray();

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * (1 + Math.Abs(expected[i])), $"[{i}] {expected[i]} vs {actual[i]}");
    }
}
