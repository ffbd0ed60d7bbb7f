using System.Buffers.Binary;
using System.Text;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Quantization.Imatrix;

namespace Optimizer.Engine.Tests.Quantization.Imatrix;

/// <summary>
/// The GGUF and legacy .dat importance-matrix files: llama-imatrix's layout, round trips, deterministic bytes, what
/// llama-quantize derives from each, and every malformed or mismatched file failing with its OOPT code naming the file
/// (and the tensor).
/// </summary>
public sealed class ImatrixFileTests : IDisposable
{
    internal static readonly ModelConfig Config = new()
    {
        ModelType = "llama",
        VocabSize = 300,
        HiddenSize = 64,
        IntermediateSize = 96,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
    };

    private readonly string _root = Path.Combine(Path.GetTempPath(), "oopt-imatrix-" + Guid.NewGuid().ToString("N"));

    public ImatrixFileTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private string PathOf(string name) => Path.Combine(_root, name);

    /// <summary>A matrix for <see cref="Config"/>: positive Σx², signed Σx, 96 tokens in 3 chunks of 32.</summary>
    internal static ImportanceMatrix Sample(ModelConfig? config = null, int seed = 3, bool withSums = true)
    {
        config ??= Config;
        var rng = new Random(seed);
        var entries = ImportanceMatrix.ExpectedTensors(config).Where(t => t.Required).Select(t =>
        {
            var sq = new float[t.Columns];
            var s = new float[t.Columns];
            for (int j = 0; j < t.Columns; j++)
            {
                sq[j] = (float)(rng.NextDouble() * 50 * (j % 17 == 0 ? 1000 : 1));
                s[j] = (float)(rng.NextDouble() * 10 - 5);
            }
            return new ImatrixEntry(t.Name, sq, withSums ? s : default, new long[] { 96 });
        });
        return new ImportanceMatrix(entries, 3, 32, new[] { "calibration.txt" });
    }

    private static void AssertSameData(ImportanceMatrix expected, ImportanceMatrix actual)
    {
        Assert.Equal((expected.ChunkCount, expected.ChunkSize, expected.IsLegacy), (actual.ChunkCount, actual.ChunkSize, actual.IsLegacy));
        Assert.Equal(expected.Datasets, actual.Datasets);
        Assert.Equal(expected.Entries.Select(e => e.Name), actual.Entries.Select(e => e.Name));
        foreach (var (a, b) in expected.Entries.Zip(actual.Entries))
        {
            Assert.Equal(a.SumSquares.ToArray(), b.SumSquares.ToArray());
            Assert.Equal(a.Sums.ToArray(), b.Sums.ToArray());
            Assert.Equal(a.Counts.ToArray(), b.Counts.ToArray());
        }
    }

    [Fact]
    public void Gguf_round_trip_gives_identical_data_and_writing_twice_identical_bytes()
    {
        ImportanceMatrix m = Sample();
        var first = ImatrixFile.Write(PathOf("a.imatrix.gguf"), m);
        var second = ImatrixFile.Write(PathOf("b.imatrix.gguf"), m);
        Assert.Equal(File.ReadAllBytes(first.Path), File.ReadAllBytes(second.Path));
        Assert.Equal(first.Sha256, second.Sha256);
        ImportanceMatrix read = ImatrixFile.Read(first.Path);
        AssertSameData(m, read);
        Assert.Equal(first.Path, read.Source);
        foreach (var e in m.Entries) Assert.Equal(m.GetQuantWeights(e.Name), read.GetQuantWeights(e.Name));
        read.CheckFits(Config);
        // and the read matrix writes the same bytes again
        Assert.Equal(File.ReadAllBytes(first.Path), File.ReadAllBytes(ImatrixFile.Write(PathOf("c.imatrix.gguf"), read).Path));
    }

    [Fact]
    public void Gguf_file_has_llama_imatrix_metadata_and_tensors()
    {
        ImportanceMatrix m = Sample();
        string path = ImatrixFile.Write(PathOf("m.gguf"), m).Path;
        using var file = GgufFile.Open(path);
        Assert.Equal(new[] { "general.type", "imatrix.datasets", "imatrix.chunk_count", "imatrix.chunk_size" }, file.Metadata.Entries.Select(e => e.Key));
        Assert.Equal("imatrix", file.Metadata.GetString("general.type"));
        Assert.Equal(new[] { "calibration.txt" }, file.Metadata.GetArray<string>("imatrix.datasets", GgufValueType.String));
        Assert.Equal(GgufValueType.UInt32, file.Metadata.Get("imatrix.chunk_count").Type);
        Assert.Equal((3L, 32L), (file.Metadata.GetInteger("imatrix.chunk_count"), file.Metadata.GetInteger("imatrix.chunk_size")));
        Assert.Equal(32, file.Alignment);
        // per weight in ordinal name order: in_sum2, counts, in_sum; dense weights as 1-D tensors (ggml_n_dims)
        var expectedNames = m.Entries.Select(e => e.Name).SelectMany(n => new[] { n + ".in_sum2", n + ".counts", n + ".in_sum" });
        Assert.Equal(expectedNames, file.Tensors.Select(t => t.Name));
        Assert.Equal("blk.0.attn_k.weight.in_sum2", file.Tensors[0].Name);
        Assert.Equal("blk.1.ffn_up.weight.in_sum", file.Tensors[^1].Name);
        Assert.All(file.Tensors, t => Assert.Equal(GgmlType.F32, t.Type));
        var down = file.Find("blk.1.ffn_down.weight.in_sum2")!;
        Assert.Equal(new long[] { 96 }, down.Dimensions);
        Assert.Equal(new long[] { 1 }, file.Find("blk.1.ffn_down.weight.counts")!.Dimensions);
        Assert.Equal(96f, BinaryPrimitives.ReadSingleLittleEndian(file.GetSpan(file.Find("blk.1.ffn_down.weight.counts")!)));
        Assert.Equal(m.Find("blk.1.ffn_down.weight")!.SumSquares[5], BinaryPrimitives.ReadSingleLittleEndian(file.GetSpan(down)[20..]));
    }

    [Fact]
    public void A_file_without_in_sum_is_read_like_older_llama_imatrix_output()
    {
        ImportanceMatrix m = Sample(withSums: false);
        string path = ImatrixFile.Write(PathOf("no-sum.gguf"), m).Path;
        using (var file = GgufFile.Open(path)) Assert.DoesNotContain(file.Tensors, t => t.Name.EndsWith(".in_sum", StringComparison.Ordinal));
        var read = ImatrixFile.Read(path);
        Assert.All(read.Entries, e => Assert.False(e.HasSums));
        AssertSameData(m, read);
    }

    [Fact]
    public void Quant_weights_are_what_llama_quantize_derives()
    {
        var entries = new[]
        {
            new ImatrixEntry("a", new float[] { 3, 6, 9, 1, 2, 3 }, default, new long[] { 3, 0 }), // two matrices (experts), one never routed
        };
        var gguf = new ImportanceMatrix(entries, 1, 3, Array.Empty<string>());
        Assert.Equal(new float[] { 1, 2, 3, 1, 1, 1 }, gguf.GetQuantWeights("a"));
        var legacy = new ImportanceMatrix(new[] { new ImatrixEntry("b", new float[] { 4, 8 }, default, new long[] { 2 }), new ImatrixEntry("c", new float[] { 5 }, default, new long[] { 0 }) },
            0, 0, Array.Empty<string>(), legacy: true);
        Assert.Equal(new float[] { 2, 4 }, legacy.GetQuantWeights("b"));
        Assert.Equal(new float[] { 5 }, legacy.GetQuantWeights("c"));
        var ex = Assert.Throws<OptimizerException>(() => gguf.GetQuantWeights("blk.9.attn_q.weight"));
        Assert.Equal(ErrorCodes.ImatrixTensorMissing, ex.Code);
        Assert.False(gguf.TryGetQuantWeights("zzz", out var none));
        Assert.Empty(none);
    }

    /// <summary>A legacy file written byte by byte in llama-imatrix's <c>save_imatrix_legacy</c> layout.</summary>
    private static byte[] LegacyBytes(IEnumerable<(string Name, int Ncall, float[] Values)> entries, int? chunks = 3, string? dataset = "wiki.train.raw")
    {
        var list = entries.ToList();
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(list.Count);
            foreach (var (name, ncall, values) in list)
            {
                byte[] n = Encoding.UTF8.GetBytes(name);
                w.Write(n.Length);
                w.Write(n);
                w.Write(ncall);
                w.Write(values.Length);
                foreach (float v in values) w.Write(v);
            }
            if (chunks is int c)
            {
                w.Write(c);
                if (dataset is not null)
                {
                    byte[] d = Encoding.UTF8.GetBytes(dataset);
                    w.Write(d.Length);
                    w.Write(d);
                }
            }
        }
        return buffer.ToArray();
    }

    private static IEnumerable<(string, int, float[])> LegacyEntries(ModelConfig config, int ncall = 3)
    {
        var rng = new Random(5);
        return ImportanceMatrix.ExpectedTensors(config).Where(t => t.Required)
            .Select(t => (t.Name, ncall, Enumerable.Range(0, t.Columns).Select(_ => (float)(rng.NextDouble() * 4 * ncall)).ToArray()));
    }

    [Fact]
    public void Legacy_dat_files_are_accepted()
    {
        var entries = LegacyEntries(Config).ToList();
        string path = PathOf("imatrix.dat");
        File.WriteAllBytes(path, LegacyBytes(entries));
        ImportanceMatrix m = ImatrixFile.Read(path);
        Assert.True(m.IsLegacy);
        Assert.Equal((3, 0), (m.ChunkCount, m.ChunkSize));
        Assert.Equal(new[] { "wiki.train.raw" }, m.Datasets);
        m.CheckFits(Config);
        foreach (var (name, ncall, values) in entries)
        {
            Assert.Equal(values.Select(v => v / ncall).ToArray(), m.GetQuantWeights(name));
            Assert.False(m.Find(name)!.HasSums);
        }
        // the optional trailer: absent, or the chunk count alone
        File.WriteAllBytes(path, LegacyBytes(entries, chunks: null));
        Assert.Equal((0, 0), (ImatrixFile.Read(path).ChunkCount, ImatrixFile.Read(path).Datasets.Count));
        File.WriteAllBytes(path, LegacyBytes(entries, chunks: 7, dataset: null));
        Assert.Equal(7, ImatrixFile.Read(path).ChunkCount);
        // a legacy matrix converts to GGUF and back without changing what llama-quantize derives
        string gguf = ImatrixFile.Write(PathOf("converted.gguf"), m).Path;
        var converted = ImatrixFile.Read(gguf);
        foreach (var (name, _, _) in entries) Assert.Equal(m.GetQuantWeights(name), converted.GetQuantWeights(name));
    }

    [Fact]
    public void Our_legacy_writer_matches_llama_imatrix_and_reads_back()
    {
        ImportanceMatrix m = Sample();
        string path = PathOf("ours.dat");
        ImatrixFile.WriteLegacy(path, m);
        // ncall = ceil(96 / 32) = 3; values (Σx² / 96) · 3 in float32; trailer: chunk count, last dataset
        var expected = LegacyBytes(m.Entries.Select(e => (e.Name, 3, e.SumSquares.ToArray().Select(v => v / 96f * 3).ToArray())), 3, "calibration.txt");
        Assert.Equal(expected, File.ReadAllBytes(path));
        ImportanceMatrix read = ImatrixFile.Read(path);
        foreach (var e in m.Entries)
        {
            float[] a = m.GetQuantWeights(e.Name), b = read.GetQuantWeights(e.Name);
            for (int j = 0; j < a.Length; j++) Assert.Equal(a[j], b[j], a[j] * 1e-6f);
        }
        ImatrixFile.WriteLegacy(PathOf("again.dat"), read);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(PathOf("again.dat")));
    }

    private OptimizerException ReadFails(string name, byte[] bytes, string code)
    {
        string path = PathOf(name);
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<OptimizerException>(() => ImatrixFile.Read(path));
        Assert.Equal(code, ex.Code);
        Assert.Equal(path, ex.File);
        return ex;
    }

    [Fact]
    public void Bad_and_truncated_files_fail_naming_the_file()
    {
        var legacy = LegacyBytes(LegacyEntries(Config));
        ReadFails("empty.dat", Array.Empty<byte>(), ErrorCodes.ImatrixFileInvalid);
        ReadFails("text.dat", Encoding.UTF8.GetBytes("hello, this is not an imatrix"), ErrorCodes.ImatrixFileInvalid);
        foreach (int cut in new[] { 2, 9, 30, legacy.Length - 40 })
            Assert.Contains("truncated", ReadFails($"cut{cut}.dat", legacy[..cut], ErrorCodes.ImatrixFileInvalid).Message);
        ReadFails("trailer.dat", legacy.Concat(new byte[] { 1, 2 }).ToArray(), ErrorCodes.ImatrixFileInvalid);
        byte[] negative = LegacyBytes(new[] { ("blk.0.attn_q.weight", -1, new float[] { 1 }) });
        Assert.Contains("blk.0.attn_q.weight", ReadFails("negative.dat", negative, ErrorCodes.ImatrixValueInvalid).Message);
        byte[] twice = LegacyBytes(new[] { ("x", 1, new float[] { 1 }), ("x", 1, new float[] { 2 }) });
        Assert.Contains("'x'", ReadFails("twice.dat", twice, ErrorCodes.ImatrixFileInvalid).Message);

        byte[] gguf = File.ReadAllBytes(ImatrixFile.Write(PathOf("ok.gguf"), Sample()).Path);
        ReadFails("cut.gguf", gguf[..(gguf.Length / 2)], ErrorCodes.ImatrixFileInvalid);
        ReadFails("header.gguf", gguf[..10], ErrorCodes.ImatrixFileInvalid);

        var missing = Assert.Throws<OptimizerException>(() => ImatrixFile.Read(PathOf("nope.gguf")));
        Assert.Equal((ErrorCodes.ImatrixFileUnreadable, PathOf("nope.gguf")), (missing.Code, missing.File));
        var folder = Assert.Throws<OptimizerException>(() => ImatrixFile.Read(_root));
        Assert.Equal(ErrorCodes.ImatrixFileUnreadable, folder.Code);
    }

    private string WriteGguf(string name, Action<GgufWriter> build)
    {
        var writer = new GgufWriter();
        build(writer);
        return writer.Write(PathOf(name)).Path;
    }

    private static void Metadata(GgufWriter w)
    {
        w.Add("general.type", "imatrix");
        w.Add("imatrix.datasets", GgufValue.Strings(new[] { "d.txt" }));
        w.Add("imatrix.chunk_count", 1u);
        w.Add("imatrix.chunk_size", 4u);
    }

    private static void F32(GgufWriter w, string name, params float[] values) =>
        w.AddTensor(name, new long[] { values.Length }, GgmlType.F32, s =>
        {
            foreach (float v in values) s.Write(BitConverter.GetBytes(v));
        });

    private OptimizerException GgufFails(string name, Action<GgufWriter> build, string code)
    {
        string path = WriteGguf(name, build);
        var ex = Assert.Throws<OptimizerException>(() => ImatrixFile.Read(path));
        Assert.Equal((code, path), (ex.Code, ex.File));
        return ex;
    }

    [Fact]
    public void Malformed_gguf_imatrix_files_fail_naming_the_file_and_tensor()
    {
        Assert.Contains("'t'", GgufFails("no-counts.gguf", w => { Metadata(w); F32(w, "t.in_sum2", 1, 2); }, ErrorCodes.ImatrixFileInvalid).Message);
        Assert.Contains("'t'", GgufFails("no-sums.gguf", w => { Metadata(w); F32(w, "t.counts", 4); }, ErrorCodes.ImatrixFileInvalid).Message);
        Assert.Contains("t.in_sum", GgufFails("sum-length.gguf", w => { Metadata(w); F32(w, "t.in_sum2", 1, 2); F32(w, "t.counts", 4); F32(w, "t.in_sum", 1); }, ErrorCodes.ImatrixFileInvalid).Message);
        Assert.Contains("t.in_sum2", GgufFails("f16.gguf", w =>
        {
            Metadata(w);
            w.AddTensor("t.in_sum2", new long[] { 2 }, GgmlType.F16, s => s.Write(new byte[4]));
            F32(w, "t.counts", 4);
        }, ErrorCodes.ImatrixFileInvalid).Message);
        Assert.Contains("imatrix.chunk_count", GgufFails("no-meta.gguf", w => { w.Add("general.type", "imatrix"); F32(w, "t.in_sum2", 1); F32(w, "t.counts", 4); }, ErrorCodes.ImatrixFileInvalid).Message);
        Assert.Contains("looks like a model", GgufFails("model.gguf", w => { w.Add("general.architecture", "llama"); F32(w, "blk.0.attn_q.weight", 1); }, ErrorCodes.ImatrixFileInvalid).Message);
        GgufFails("no-tensors.gguf", Metadata, ErrorCodes.ImatrixFileInvalid);
        Assert.Contains("'t'", GgufFails("nan.gguf", w => { Metadata(w); F32(w, "t.in_sum2", 1, float.NaN); F32(w, "t.counts", 4); }, ErrorCodes.ImatrixValueInvalid).Message);
        Assert.Contains("'t'", GgufFails("inf-sum.gguf", w => { Metadata(w); F32(w, "t.in_sum2", 1, 2); F32(w, "t.counts", 4); F32(w, "t.in_sum", float.PositiveInfinity, 1); }, ErrorCodes.ImatrixValueInvalid).Message);
        Assert.Contains("'t'", GgufFails("negative.gguf", w => { Metadata(w); F32(w, "t.in_sum2", -1, 2); F32(w, "t.counts", 4); }, ErrorCodes.ImatrixValueInvalid).Message);
        Assert.Contains("'t'", GgufFails("bad-count.gguf", w => { Metadata(w); F32(w, "t.in_sum2", 1, 2); F32(w, "t.counts", -4); }, ErrorCodes.ImatrixValueInvalid).Message);
        Assert.Contains("'t'", GgufFails("split.gguf", w => { Metadata(w); F32(w, "t.in_sum2", 1, 2, 3); F32(w, "t.counts", 4, 4); }, ErrorCodes.ImatrixFileInvalid).Message);
    }

    [Fact]
    public void A_matrix_that_does_not_fit_the_model_fails_naming_the_file_and_tensor()
    {
        string path = ImatrixFile.Write(PathOf("small.gguf"), Sample()).Path;
        var other = new ModelConfig { ModelType = "llama", VocabSize = 300, HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2 };
        var ex = Assert.Throws<OptimizerException>(() => ImatrixFile.Read(path).CheckFits(other));
        Assert.Equal((ErrorCodes.ImatrixLengthMismatch, path), (ex.Code, ex.File));
        Assert.Contains("blk.0.ffn_down.weight", ex.Message);

        var deeper = new ModelConfig { ModelType = "llama", VocabSize = 300, HiddenSize = 64, IntermediateSize = 96, NumHiddenLayers = 3, NumAttentionHeads = 4, NumKeyValueHeads = 2 };
        ex = Assert.Throws<OptimizerException>(() => ImatrixFile.Read(path).CheckFits(deeper));
        Assert.Equal((ErrorCodes.ImatrixTensorMissing, path), (ex.Code, ex.File));
        Assert.Contains("blk.2.attn_q.weight", ex.Message);

        var shallower = new ModelConfig { ModelType = "llama", VocabSize = 300, HiddenSize = 64, IntermediateSize = 96, NumHiddenLayers = 1, NumAttentionHeads = 4, NumKeyValueHeads = 2 };
        ex = Assert.Throws<OptimizerException>(() => ImatrixFile.Read(path).CheckFits(shallower));
        Assert.Equal((ErrorCodes.ImatrixTensorUnknown, path), (ex.Code, ex.File));
        Assert.Contains("blk.1.", ex.Message);

        // output.weight is optional (llama-imatrix --process-output) but only for a model with its own head
        var withHead = Sample().Entries.Append(new ImatrixEntry("output.weight", new float[64], default, new long[] { 96 }));
        new ImportanceMatrix(withHead, 3, 32, Array.Empty<string>()).CheckFits(Config);
        var tied = new ModelConfig { ModelType = "llama", VocabSize = 300, HiddenSize = 64, IntermediateSize = 96, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, TieWordEmbeddings = true };
        ex = Assert.Throws<OptimizerException>(() => new ImportanceMatrix(withHead, 3, 32, Array.Empty<string>(), source: "x.gguf").CheckFits(tied));
        Assert.Equal((ErrorCodes.ImatrixTensorUnknown, "x.gguf"), (ex.Code, ex.File));
    }

    [Fact]
    public void Input_divisors_rescale_sums_and_sums_of_squares()
    {
        ImportanceMatrix m = Sample();
        var d = Enumerable.Range(0, 64).Select(j => 0.5 + j / 16.0).ToArray();
        var scaled = m.WithInputDivisors(new Dictionary<string, double[]> { ["blk.0.attn_q.weight"] = d });
        var before = m.Find("blk.0.attn_q.weight")!;
        var after = scaled.Find("blk.0.attn_q.weight")!;
        for (int j = 0; j < 64; j++)
        {
            Assert.Equal((float)(before.SumSquares[j] / (d[j] * d[j])), after.SumSquares[j]);
            Assert.Equal((float)(before.Sums[j] / d[j]), after.Sums[j]);
        }
        Assert.Equal(m.Find("blk.0.attn_k.weight")!.SumSquares.ToArray(), scaled.Find("blk.0.attn_k.weight")!.SumSquares.ToArray());
        var ex = Assert.Throws<OptimizerException>(() => m.WithInputDivisors(new Dictionary<string, double[]> { ["blk.0.attn_q.weight"] = new double[3] }));
        Assert.Equal(ErrorCodes.ImatrixLengthMismatch, ex.Code);
    }
}
