using System.Runtime.InteropServices;
using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Tests.Model;

namespace Optimizer.Engine.Tests.Evaluation;

/// <summary>FakeQuantizedWeights: which tensors are round-tripped, their bytes, laziness, caching, threads, and a model over it.</summary>
public class FakeQuantizedWeightsTests
{
    private static readonly ModelSpec Spec = new("fq", Vocab: 53, Hidden: 32, Intermediate: 48, Layers: 2, Heads: 4, KvHeads: 2, DType: DType.BF16);
    private const string QProj = "model.layers.0.self_attn.q_proj.weight";

    private static float[] Read(ITensorSource source, string name) => TensorData.ReadFloat32(source, source.Find(name)!);

    [Fact]
    public void TwoDimensionalTensorsAreOfferedAsF32AndRoundTrippedOthersPassThrough()
    {
        using var source = RandomModels.Build(Spec, seed: 31);
        var scheme = new GridRoundTrip(1f / 16);
        using var view = new FakeQuantizedWeights(source, scheme);

        Assert.Equal(source.Tensors.Select(t => t.Name), view.Tensors.Select(t => t.Name));
        foreach (TensorInfo stored in source.Tensors)
        {
            TensorInfo offered = view.Find(stored.Name)!;
            Assert.Equal(stored.Shape, offered.Shape);
            if (stored.Shape.Length == 2)
            {
                Assert.Equal(DType.F32, offered.DType);
                Assert.Equal(stored.ElementCount * 4, offered.Length);
                float[] original = Read(source, stored.Name), restored = Read(view, stored.Name);
                bool quantized = stored.Name.EndsWith("_proj.weight", StringComparison.Ordinal);
                for (int i = 0; i < original.Length; i++)
                    Assert.Equal(quantized ? GridRoundTrip.Round(original[i], scheme.Step) : original[i], restored[i]);
            }
            else
            {
                Assert.Same(stored, offered);
                var bytes = new List<byte>();
                view.ReadBytes(offered, (chunk, _) => bytes.AddRange(chunk.ToArray()));
                Assert.Equal(source.RawBytes(stored.Name), bytes);
            }
        }
        Assert.Null(view.Find("missing"));
        Assert.Same(source, view.Source);
        Assert.Same(scheme, view.RoundTrip);
    }

    [Fact]
    public void RoundTripsLazilyKeepsOneTensorAndDeliversWholeElementChunks()
    {
        using var source = RandomModels.Build(Spec with { DType = DType.F32 }, seed: 32);
        var scheme = new GridRoundTrip(1f / 8);
        using var view = new FakeQuantizedWeights(source, scheme);
        Assert.Equal(0, scheme.Calls);
        Assert.Empty(source.Reads);

        TensorInfo q = view.Find(QProj)!;
        var chunks = new List<(int Length, long Offset)>();
        var bytes = new byte[q.Length];
        view.ReadBytes(q, (chunk, offset) => { chunks.Add((chunk.Length, offset)); chunk.CopyTo(bytes.AsSpan((int)offset)); }, maxChunk: 10);
        Assert.All(chunks, c => Assert.Equal(8, c.Length));      // 10 bytes rounded down to two floats
        Assert.Equal(q.Length / 8, chunks.Count);
        Assert.Equal(Read(view, QProj), MemoryMarshal.Cast<byte, float>(bytes).ToArray());
        Assert.Equal(1, scheme.Calls);                            // the second read came from the cache
        Assert.Equal(1, source.Reads[QProj]);

        Read(view, "model.layers.0.self_attn.k_proj.weight");
        Read(view, QProj);                                        // evicted by k_proj: computed again
        Assert.Equal(3, scheme.Calls);

        view.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Read(view, QProj));
        Assert.NotEmpty(source.Tensors);                          // the source stays open
    }

    [Fact]
    public void ParallelReadersGetCorrectValues()
    {
        using var source = RandomModels.Build(Spec with { DType = DType.F32 }, seed: 33);
        using var view = new FakeQuantizedWeights(source, new GridRoundTrip(1f / 4));
        string[] names = view.Tensors.Where(t => t.Shape.Length == 2).Select(t => t.Name).ToArray();
        var expected = names.ToDictionary(n => n, n => Read(source, n).Select(v => n.EndsWith("_proj.weight") ? GridRoundTrip.Round(v, 0.25f) : v).ToArray());
        // The in-memory test source itself is not thread-safe for its read counter; serialize only the source calls.
        var gate = new object();
        using var locked = new LockedSource(source, gate);
        using var shared = new FakeQuantizedWeights(locked, new GridRoundTrip(1f / 4));
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            string name = names[i % names.Length];
            Assert.Equal(expected[name], Read(shared, name));
        });
    }

    [Fact]
    public void AModelRunsOverTheViewAndItsDivergenceGrowsWithTheStep()
    {
        using var source = RandomModels.Build(Spec with { DType = DType.F32 }, seed: 34);
        var config = RandomModels.Config(Spec);
        using var reference = LlamaModel.Create(config, source, new ModelOptions());
        using var fine = new FakeQuantizedWeights(source, new GridRoundTrip(1f / 256));
        using var coarse = new FakeQuantizedWeights(source, new GridRoundTrip(1f / 16));
        using var fineModel = LlamaModel.Create(config, fine, new ModelOptions { StreamLayers = true });
        using var coarseModel = LlamaModel.Create(config, coarse, new ModelOptions { StreamLayers = true });
        int[] text = RandomModels.Tokens(Spec.Vocab, 1, 40, seed: 8)[0];
        var results = ModelComparison.Compare(reference, new[] { ("fine", fineModel), ("coarse", coarseModel) }, text,
            new PerplexityOptions { Context = 20, BatchSize = 2 });
        Assert.True(results[0].MeanKlDivergence > 0);
        Assert.True(results[1].MeanKlDivergence > 10 * results[0].MeanKlDivergence, $"{results[0]} / {results[1]}");
    }

    [Fact]
    public void GgufQ4_0ViewHoldsTheDequantizedBlocksAndDivergesMoreThanQ8_0()
    {
        var spec = Spec with { DType = DType.F32, Hidden = 64, Intermediate = 128 }; // rows of whole 32-value blocks
        var config = RandomModels.Config(spec);
        using var source = RandomModels.Build(spec, seed: 35);
        using var q4 = new FakeQuantizedWeights(source, new GgufRoundTrip(QuantizationRecipe.Parse("Q4_0"), config));
        using var q8 = new FakeQuantizedWeights(source, new GgufRoundTrip(QuantizationRecipe.Parse("Q8_0"), config));
        Assert.Equal("Q4_0", q4.RoundTrip.Name);

        float[] original = Read(source, QProj);
        var expected = new float[original.Length];
        GgmlQuantizer.DequantizeMatrix(GgmlType.Q4_0, GgmlQuantizer.QuantizeMatrix(GgmlType.Q4_0, original, 64, 64), 64, 64, expected);
        Assert.Equal(expected, Read(q4, QProj));
        Assert.NotEqual(original, expected);
        const string norm = "model.layers.0.input_layernorm.weight";
        Assert.Equal(Read(source, norm), Read(q4, norm));

        using var reference = LlamaModel.Create(config, source, new ModelOptions());
        using var q4Model = LlamaModel.Create(config, q4, new ModelOptions());
        using var q8Model = LlamaModel.Create(config, q8, new ModelOptions());
        int[] text = RandomModels.Tokens(spec.Vocab, 1, 40, seed: 9)[0];
        var results = ModelComparison.Compare(reference, new[] { ("Q8_0", q8Model), ("Q4_0", q4Model) }, text,
            new PerplexityOptions { Context = 20, BatchSize = 2 });
        Assert.True(results[0].MeanKlDivergence > 0);
        Assert.True(results[1].MeanKlDivergence > 20 * results[0].MeanKlDivergence, $"{results[0]} / {results[1]}");
    }

    /// <summary>Serializes calls into a source that is not thread-safe.</summary>
    private sealed class LockedSource : ITensorSource
    {
        private readonly ITensorSource _inner;
        private readonly object _gate;

        public LockedSource(ITensorSource inner, object gate)
        {
            _inner = inner;
            _gate = gate;
        }

        public IReadOnlyList<TensorInfo> Tensors => _inner.Tensors;

        public TensorInfo? Find(string name) => _inner.Find(name);

        public void ReadBytes(TensorInfo tensor, ReadOnlySpanAction<byte, long> onChunk, int maxChunk = 1 << 30)
        {
            lock (_gate) _inner.ReadBytes(tensor, onChunk, maxChunk);
        }

        public void Dispose() { }
    }
}
