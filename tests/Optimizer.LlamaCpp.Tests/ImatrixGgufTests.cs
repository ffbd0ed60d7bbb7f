using System.Runtime.InteropServices;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Quantization.Imatrix;
using Optimizer.LlamaCpp;

namespace Optimizer.LlamaCpp.Tests;

/// <summary>
/// ggml's own GGUF reader (libggml-base, loaded by LLamaSharp) reads the importance matrices we write the way
/// llama.cpp's <c>common_imatrix_load</c> does: <c>gguf_init_from_file</c> with tensor data, the <c>imatrix.*</c> keys
/// llama-quantize requires, <c>&lt;name&gt;.in_sum2</c> / <c>.counts</c> / <c>.in_sum</c> F32 tensors with ggml's
/// dimension count, and the per-column weights quantize.cpp derives (in_sum2 / count) equal to
/// <see cref="ImportanceMatrix.GetQuantWeights"/>. (The imatrix loader itself lives in llama.cpp's common library,
/// which LLamaSharp does not ship; its steps are re-enacted here over ggml's parser.) And ggml's GGUF writer, driven
/// as llama-imatrix's <c>save_imatrix</c> drives it, writes the same bytes as <see cref="ImatrixFile.Write"/>.
/// </summary>
public sealed unsafe class ImatrixGgufTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("oopt-imatrix-ggml-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct InitParams
    {
        public byte NoAlloc;
        public nint* Context;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct GgmlInitParams
    {
        public nuint MemSize;
        public nint MemBuffer;
        public byte NoAlloc;
    }

    private static class Ggml
    {
        // first: the exports below are resolved from it in declaration order
        private static readonly nint Library = Load();

        public static readonly delegate* unmanaged<GgmlInitParams, nint> Init = (delegate* unmanaged<GgmlInitParams, nint>)Export("ggml_init");
        public static readonly delegate* unmanaged<nuint> TensorOverhead = (delegate* unmanaged<nuint>)Export("ggml_tensor_overhead");
        public static readonly delegate* unmanaged<nint, int, long, long, nint> NewTensor2d = (delegate* unmanaged<nint, int, long, long, nint>)Export("ggml_new_tensor_2d");
        public static readonly delegate* unmanaged<nint, byte*, nint> SetName = (delegate* unmanaged<nint, byte*, nint>)Export("ggml_set_name");
        public static readonly delegate* unmanaged<nint> InitEmpty = (delegate* unmanaged<nint>)Export("gguf_init_empty");
        public static readonly delegate* unmanaged<nint, byte*, byte*, void> SetString = (delegate* unmanaged<nint, byte*, byte*, void>)Export("gguf_set_val_str");
        public static readonly delegate* unmanaged<nint, byte*, byte**, nuint, void> SetStrings = (delegate* unmanaged<nint, byte*, byte**, nuint, void>)Export("gguf_set_arr_str");
        public static readonly delegate* unmanaged<nint, byte*, uint, void> SetU32 = (delegate* unmanaged<nint, byte*, uint, void>)Export("gguf_set_val_u32");
        public static readonly delegate* unmanaged<nint, nint, void> AddTensor = (delegate* unmanaged<nint, nint, void>)Export("gguf_add_tensor");
        public static readonly delegate* unmanaged<nint, byte*, byte, byte> WriteToFile = (delegate* unmanaged<nint, byte*, byte, byte>)Export("gguf_write_to_file");
        public static readonly delegate* unmanaged<byte*, InitParams, nint> InitFromFile = (delegate* unmanaged<byte*, InitParams, nint>)Export("gguf_init_from_file");
        public static readonly delegate* unmanaged<nint, void> GgufFree = (delegate* unmanaged<nint, void>)Export("gguf_free");
        public static readonly delegate* unmanaged<nint, void> Free = (delegate* unmanaged<nint, void>)Export("ggml_free");
        public static readonly delegate* unmanaged<nint, byte*, long> FindKey = (delegate* unmanaged<nint, byte*, long>)Export("gguf_find_key");
        public static readonly delegate* unmanaged<nint, long> KvCount = (delegate* unmanaged<nint, long>)Export("gguf_get_n_kv");
        public static readonly delegate* unmanaged<nint, long, byte*> Key = (delegate* unmanaged<nint, long, byte*>)Export("gguf_get_key");
        public static readonly delegate* unmanaged<nint, long, int> KvType = (delegate* unmanaged<nint, long, int>)Export("gguf_get_kv_type");
        public static readonly delegate* unmanaged<nint, long, int> ArrayType = (delegate* unmanaged<nint, long, int>)Export("gguf_get_arr_type");
        public static readonly delegate* unmanaged<nint, long, nuint> ArrayCount = (delegate* unmanaged<nint, long, nuint>)Export("gguf_get_arr_n");
        public static readonly delegate* unmanaged<nint, long, nuint, byte*> ArrayString = (delegate* unmanaged<nint, long, nuint, byte*>)Export("gguf_get_arr_str");
        public static readonly delegate* unmanaged<nint, long, uint> U32 = (delegate* unmanaged<nint, long, uint>)Export("gguf_get_val_u32");
        public static readonly delegate* unmanaged<nint, long, byte*> String = (delegate* unmanaged<nint, long, byte*>)Export("gguf_get_val_str");
        public static readonly delegate* unmanaged<nint, long> TensorCount = (delegate* unmanaged<nint, long>)Export("gguf_get_n_tensors");
        public static readonly delegate* unmanaged<nint, long, int> TensorType = (delegate* unmanaged<nint, long, int>)Export("gguf_get_tensor_type");
        public static readonly delegate* unmanaged<nint, nint> FirstTensor = (delegate* unmanaged<nint, nint>)Export("ggml_get_first_tensor");
        public static readonly delegate* unmanaged<nint, nint, nint> NextTensor = (delegate* unmanaged<nint, nint, nint>)Export("ggml_get_next_tensor");
        public static readonly delegate* unmanaged<nint, byte*> Name = (delegate* unmanaged<nint, byte*>)Export("ggml_get_name");
        public static readonly delegate* unmanaged<nint, long> Elements = (delegate* unmanaged<nint, long>)Export("ggml_nelements");
        public static readonly delegate* unmanaged<nint, int> Dims = (delegate* unmanaged<nint, int>)Export("ggml_n_dims");
        public static readonly delegate* unmanaged<nint, float*> DataF32 = (delegate* unmanaged<nint, float*>)Export("ggml_get_data_f32");

        private static void* Export(string name) => (void*)NativeLibrary.GetExport(Library, name);

        private static nint Load()
        {
            LlamaRuntime.EnsureLoaded();
            string path = File.ReadLines("/proc/self/maps")
                .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(parts => parts.Length >= 6 && parts[5].EndsWith("/libggml-base.so", StringComparison.Ordinal))
                .Select(parts => parts[5])
                .FirstOrDefault() ?? throw new InvalidOperationException("libggml-base.so is not mapped into the process after loading llama.cpp.");
            return NativeLibrary.Load(path);
        }
    }

    private static long Find(nint gguf, string key)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(key + "\0");
        fixed (byte* k = bytes) return Ggml.FindKey(gguf, k);
    }

    private static string Text(byte* s) => Marshal.PtrToStringUTF8((nint)s)!;

    private static byte* Utf8(string text) => (byte*)Marshal.StringToCoTaskMemUTF8(text);

    [Fact]
    public void Ggmls_writer_driven_like_llama_imatrix_writes_the_same_bytes()
    {
        ImportanceMatrix m = Sample();
        string ours = ImatrixFile.Write(Path.Combine(_folder, "ours.imatrix.gguf"), m).Path;
        string theirs = Path.Combine(_folder, "ggml.imatrix.gguf");
        var strings = new List<nint>();
        byte* S(string text)
        {
            byte* p = Utf8(text);
            strings.Add((nint)p);
            return p;
        }
        nuint size = 1 << 20;
        foreach (var e in m.Entries) size += 3 * (Ggml.TensorOverhead() + (nuint)(e.SumSquares.Length * 4) + 64);
        nint ctx = Ggml.Init(new GgmlInitParams { MemSize = size, MemBuffer = 0, NoAlloc = 0 });
        nint gguf = Ggml.InitEmpty();
        try
        {
            Ggml.SetString(gguf, S("general.type"), S("imatrix"));
            var datasets = m.Datasets.Select(d => (nint)S(d)).ToArray();
            fixed (nint* d = datasets) Ggml.SetStrings(gguf, S("imatrix.datasets"), (byte**)d, (nuint)datasets.Length);
            Ggml.SetU32(gguf, S("imatrix.chunk_count"), (uint)m.ChunkCount);
            Ggml.SetU32(gguf, S("imatrix.chunk_size"), (uint)m.ChunkSize);
            foreach (var e in m.Entries.OrderBy(e => e.Name, StringComparer.Ordinal))   // std::sort of the names
            {
                void Add(string suffix, long ne0, float[] values)
                {
                    nint t = Ggml.NewTensor2d(ctx, 0, ne0, e.Matrices);
                    Ggml.SetName(t, S(e.Name + suffix));
                    values.CopyTo(new Span<float>(Ggml.DataF32(t), values.Length));
                    Ggml.AddTensor(gguf, t);
                }
                Add(".in_sum2", e.Columns, e.SumSquares.ToArray());
                Add(".counts", 1, e.Counts.ToArray().Select(c => (float)c).ToArray());
                if (e.HasSums) Add(".in_sum", e.Columns, e.Sums.ToArray());
            }
            Assert.Equal(1, Ggml.WriteToFile(gguf, S(theirs), 0));
        }
        finally
        {
            Ggml.GgufFree(gguf);
            Ggml.Free(ctx);
            foreach (nint p in strings) Marshal.FreeCoTaskMem(p);
        }
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
    }

    /// <summary>A matrix for a small untied model, with a zero count on one tensor (llama-quantize then uses 1s).</summary>
    private static ImportanceMatrix Sample()
    {
        var config = new ModelConfig { ModelType = "llama", VocabSize = 300, HiddenSize = 64, IntermediateSize = 96, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2 };
        var rng = new Random(17);
        var entries = ImportanceMatrix.ExpectedTensors(config).Select((t, i) => new ImatrixEntry(t.Name,
            Enumerable.Range(0, t.Columns).Select(_ => (float)(rng.NextDouble() * 100)).ToArray(),
            Enumerable.Range(0, t.Columns).Select(_ => (float)(rng.NextDouble() * 20 - 10)).ToArray(),
            new long[] { i == 3 ? 0 : 144 })).ToArray();
        var m = new ImportanceMatrix(entries, 3, 48, new[] { "calib-a.txt", "calib-b.txt" });
        m.CheckFits(config);
        return m;
    }

    [Fact]
    public void Ggml_reads_our_imatrix_as_llama_cpp_loads_it()
    {
        ImportanceMatrix m = Sample();
        string path = ImatrixFile.Write(Path.Combine(_folder, "m.imatrix.gguf"), m).Path;

        nint context = 0;
        byte[] file = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        nint gguf;
        fixed (byte* f = file) gguf = Ggml.InitFromFile(f, new InitParams { NoAlloc = 0, Context = &context });
        Assert.True(gguf != 0, "gguf_init_from_file refused the file:\n" + LlamaRuntime.RecentLog());
        try
        {
            Assert.Equal(new[] { "general.type", "imatrix.datasets", "imatrix.chunk_count", "imatrix.chunk_size" },
                Enumerable.Range(0, (int)Ggml.KvCount(gguf)).Select(i => Text(Ggml.Key(gguf, i))));
            Assert.Equal("imatrix", Text(Ggml.String(gguf, Find(gguf, "general.type"))));
            long datasets = Find(gguf, "imatrix.datasets");
            const int GgufArray = 9, GgufString = 8;
            Assert.Equal((GgufArray, GgufString), (Ggml.KvType(gguf, datasets), Ggml.ArrayType(gguf, datasets)));
            Assert.Equal(new[] { "calib-a.txt", "calib-b.txt" },
                Enumerable.Range(0, (int)Ggml.ArrayCount(gguf, datasets)).Select(i => Text(Ggml.ArrayString(gguf, datasets, (nuint)i))));
            Assert.Equal(3u, Ggml.U32(gguf, Find(gguf, "imatrix.chunk_count")));   // gguf_get_val_u32 asserts the type
            Assert.Equal(48u, Ggml.U32(gguf, Find(gguf, "imatrix.chunk_size")));
            Assert.Equal(3 * m.Entries.Count, Ggml.TensorCount(gguf));
            for (long i = 0; i < Ggml.TensorCount(gguf); i++) Assert.Equal(0, Ggml.TensorType(gguf, i));   // GGML_TYPE_F32

            // common_imatrix_load: group the tensors by suffix (data blob has no name), then quantize.cpp's load_imatrix
            var parts = new Dictionary<string, Dictionary<string, (float[] Values, int Dims)>>(StringComparer.Ordinal);
            for (nint t = Ggml.FirstTensor(context); t != 0; t = Ggml.NextTensor(context, t))
            {
                string name = Text(Ggml.Name(t));
                // like the loader: unnamed tensors and other names (ggml's data blob) are skipped
                string? suffix = new[] { ".in_sum2", ".counts", ".in_sum" }.FirstOrDefault(s => name.EndsWith(s, StringComparison.Ordinal));
                if (name.Length == 0 || suffix is null) continue;
                var values = new ReadOnlySpan<float>(Ggml.DataF32(t), (int)Ggml.Elements(t)).ToArray();
                string weight = name[..^suffix.Length];
                if (!parts.TryGetValue(weight, out var entry)) parts[weight] = entry = new(StringComparer.Ordinal);
                entry[suffix] = (values, Ggml.Dims(t));
            }
            Assert.Equal(m.Entries.Select(e => e.Name).Order(StringComparer.Ordinal), parts.Keys.Order(StringComparer.Ordinal));
            foreach (var e in m.Entries)
            {
                var entry = parts[e.Name];
                Assert.Equal(1, entry[".in_sum2"].Dims);
                Assert.Equal(1, entry[".counts"].Dims);
                Assert.Equal(e.SumSquares.ToArray(), entry[".in_sum2"].Values);
                Assert.Equal(e.Sums.ToArray(), entry[".in_sum"].Values);
                float count = (float)Math.Round(entry[".counts"].Values[0], MidpointRounding.AwayFromZero);
                float[] llama = entry[".in_sum2"].Values.Select(v => count > 0 ? v / count : 1f).ToArray();
                Assert.Equal(llama, m.GetQuantWeights(e.Name));
            }
        }
        finally
        {
            Ggml.GgufFree(gguf);
            if (context != 0) Ggml.Free(context);
        }
    }
}
