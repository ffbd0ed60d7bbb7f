using System.Security.Cryptography;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Tests.Formats;

namespace Optimizer.Engine.Tests.Gguf;

public sealed class GgufRoundTripTests
{
    internal static GgufWriter EveryValueType()
    {
        var writer = new GgufWriter();
        writer.Add("general.architecture", "test");
        writer.Add("t.u8", GgufValue.UInt8(250));
        writer.Add("t.i8", GgufValue.Int8(-7));
        writer.Add("t.u16", GgufValue.UInt16(65000));
        writer.Add("t.i16", GgufValue.Int16(-30000));
        writer.Add("t.u32", GgufValue.UInt32(4_000_000_000));
        writer.Add("t.i32", GgufValue.Int32(-2_000_000_000));
        writer.Add("t.f32", GgufValue.Float32(1.5e-5f));
        writer.Add("t.bool", GgufValue.Bool(true));
        writer.Add("t.string", GgufValue.String("Ünïcode ✓"));
        writer.Add("t.u64", GgufValue.UInt64(ulong.MaxValue));
        writer.Add("t.i64", GgufValue.Int64(long.MinValue));
        writer.Add("t.f64", GgufValue.Float64(Math.PI));
        writer.Add("t.strings", GgufValue.Strings(new[] { "a", "", "ĠThe" }));
        writer.Add("t.bools", GgufValue.FromArray(new GgufArray(GgufValueType.Bool, new[] { true, false })));
        writer.Add("t.nested", GgufValue.FromArray(new GgufArray(GgufValueType.Array, new[]
        {
            new GgufArray(GgufValueType.Int32, new[] { 1, -2 }),
            new GgufArray(GgufValueType.Array, new[] { new GgufArray(GgufValueType.Float64, new[] { 0.25 }) }),
        })));
        writer.Add("t.empty", GgufValue.FromArray(new GgufArray(GgufValueType.UInt64, Array.Empty<ulong>())));
        return writer;
    }

    [Fact]
    public void EveryValueTypeAndTensorRoundTrips()
    {
        using var temp = new TempFolder();
        var writer = EveryValueType();
        float[] matrix = Enumerable.Range(0, 3 * 64).Select(i => i * 0.5f - 7).ToArray();
        writer.AddTensor("m", new long[] { 3, 64 }, GgmlType.F32, s => s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(matrix.AsSpan())));
        byte[] q8 = GgmlQuantizer.QuantizeMatrix(GgmlType.Q8_0, matrix, 3, 64);
        writer.AddTensor("q", new long[] { 3, 64 }, GgmlType.Q8_0, s => s.Write(q8));
        writer.AddTensor("v", new long[] { 5 }, GgmlType.F16, s => s.Write(new byte[10]));
        string path = temp.File("all.gguf");
        var result = writer.Write(path);

        Assert.Equal(new FileInfo(path).Length, result.Bytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), result.Sha256);
        using var file = GgufFile.Open(path);
        Assert.Equal(3u, file.Version);
        Assert.Equal(32, file.Alignment);
        Assert.Equal(writer.Metadata.Select(e => e.Key), file.Metadata.Entries.Select(e => e.Key));
        var m = file.Metadata;
        Assert.Equal((byte)250, m.Get("t.u8").Value);
        Assert.Equal((sbyte)-7, m.Get("t.i8").Value);
        Assert.Equal((ushort)65000, m.Get("t.u16").Value);
        Assert.Equal((short)-30000, m.Get("t.i16").Value);
        Assert.Equal(4_000_000_000u, m.Get("t.u32").Value);
        Assert.Equal(-2_000_000_000, m.GetInt32("t.i32"));
        Assert.Equal(1.5e-5f, m.Get("t.f32").Value);
        Assert.True(m.FindBool("t.bool"));
        Assert.Equal("Ünïcode ✓", m.GetString("t.string"));
        Assert.Equal(ulong.MaxValue, m.Get("t.u64").Value);
        Assert.Equal(long.MinValue, m.GetInteger("t.i64"));
        Assert.Equal(Math.PI, m.GetFloat("t.f64"));
        Assert.Equal(new[] { "a", "", "ĠThe" }, m.GetArray<string>("t.strings", GgufValueType.String));
        Assert.Equal(new[] { true, false }, m.GetArray<bool>("t.bools", GgufValueType.Bool));
        var nested = m.GetArray<GgufArray>("t.nested", GgufValueType.Array);
        Assert.Equal(new[] { 1, -2 }, nested[0].As<int>());
        Assert.Equal(new[] { 0.25 }, nested[1].As<GgufArray>()[0].As<double>());
        Assert.Empty(m.GetArray<ulong>("t.empty", GgufValueType.UInt64));

        Assert.Equal(new[] { "m", "q", "v" }, file.Tensors.Select(t => t.Name));
        var t0 = file.Tensors[0];
        Assert.Equal(new long[] { 64, 3 }, t0.Dimensions);
        Assert.Equal(new long[] { 3, 64 }, t0.Shape);
        Assert.Equal(0, t0.Offset);
        Assert.All(file.Tensors, t => Assert.Equal(0, t.Offset % 32));
        Assert.Equal(0, file.DataOffset % 32);
        Assert.Equal(matrix, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.GetSpan(t0)).ToArray());
        Assert.Equal(q8, file.GetSpan(file.Find("q")!).ToArray());
        Assert.Equal(GgmlType.F16, file.Find("v")!.Type);
        Assert.Equal(10, file.Find("v")!.ByteCount);
    }

    [Fact]
    public void OutputIsDeterministicAndHonoursTheAlignmentKey()
    {
        using var temp = new TempFolder();
        GgufWriteResult Write(string name)
        {
            var writer = new GgufWriter().Add("general.alignment", 64u).Add("general.architecture", "x");
            writer.AddTensor("a", new long[] { 3 }, GgmlType.F32, s => s.Write(new byte[12]));
            writer.AddTensor("b", new long[] { 2, 32 }, GgmlType.Q4_0, s => s.Write(Enumerable.Range(0, 36).Select(i => (byte)i).ToArray()));
            return writer.Write(temp.File(name));
        }
        var first = Write("1.gguf");
        var second = Write("2.gguf");
        Assert.Equal(first.Sha256, second.Sha256);
        Assert.Equal(File.ReadAllBytes(first.Path), File.ReadAllBytes(second.Path));
        using var file = GgufFile.Open(first.Path);
        Assert.Equal(64, file.Alignment);
        Assert.Equal(0, file.DataOffset % 64);
        Assert.Equal(64, file.Find("b")!.Offset);
        Assert.Equal(0, file.Length % 64);
    }

    [Fact]
    public void WriterRejectsMisuse()
    {
        var writer = new GgufWriter().Add("k", 1u);
        Assert.Throws<ArgumentException>(() => writer.Add("k", 2u));
        Assert.Throws<ArgumentException>(() => new GgufWriter().Add("general.alignment", 24u));
        Assert.Throws<ArgumentException>(() => new GgufWriter().Add("general.alignment", GgufValue.Int32(32)));
        Assert.Throws<ArgumentException>(() => writer.AddTensor(new string('n', 64), new long[] { 1 }, GgmlType.F32, _ => { }));
        Assert.Throws<ArgumentException>(() => writer.AddTensor("five", new long[] { 1, 1, 1, 1, 1 }, GgmlType.F32, _ => { }));
        Assert.Throws<ArgumentException>(() => new GgufArray(GgufValueType.Int32, new long[] { 1 }));
        writer.AddTensor("t", new long[] { 1 }, GgmlType.F32, _ => { });
        Assert.Throws<ArgumentException>(() => writer.AddTensor("t", new long[] { 1 }, GgmlType.F32, _ => { }));
        Assert.Throws<InvalidOperationException>(() => writer.Add("general.alignment", 64u));
        var ex = Assert.Throws<OptimizerException>(() => writer.AddTensor("q", new long[] { 2, 48 }, GgmlType.Q8_0, _ => { }));
        Assert.Equal(ErrorCodes.GgufExportInvalid, ex.Code);
    }
}
