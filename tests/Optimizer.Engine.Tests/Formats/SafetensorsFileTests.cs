using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Tests.Formats;

/// <summary>Writer → reader round trips and the accepted edge cases of <see cref="SafetensorsFile"/>.</summary>
public class SafetensorsFileTests
{
    public static TheoryData<DType> AllDTypes()
    {
        var data = new TheoryData<DType>();
        foreach (var t in Enum.GetValues<DType>()) data.Add(t);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllDTypes))]
    public void RoundTripsEveryDType(DType dtype)
    {
        using var temp = new TempFolder();
        int size = DTypes.SizeOf(dtype);
        var bytes = new byte[3 * 5 * size];
        new Random(7 + (int)dtype).NextBytes(bytes);
        var small = new byte[size];
        new Random(99).NextBytes(small);
        string path = temp.File("x.safetensors");
        SafetensorsWriter.Write(path, new[]
        {
            SafetensorsEntry.FromBytes("a.weight", dtype, bytes, 3, 5),
            SafetensorsEntry.FromBytes("b.scalar", dtype, small),
        });

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(new[] { "a.weight", "b.scalar" }, file.Tensors.Select(t => t.Name));
        var a = file.Find("a.weight")!;
        Assert.Equal(dtype, a.DType);
        Assert.Equal(new long[] { 3, 5 }, a.Shape);
        Assert.Equal("x.safetensors", a.File);
        Assert.Equal(bytes, file.GetSpan(a).ToArray());
        var scalar = file.Find("b.scalar")!;
        Assert.Empty(scalar.Shape);
        Assert.Equal(1, scalar.ElementCount);
        Assert.Equal(small, file.GetSpan(scalar).ToArray());
        Assert.Null(file.Find("missing"));
    }

    [Fact]
    public void ReadsInChunksWithOffsets()
    {
        using var temp = new TempFolder();
        var values = Enumerable.Range(0, 1000).Select(i => i * 0.5f).ToArray();
        string path = temp.File("m.safetensors");
        SafetensorsWriter.Write(path, new[] { SafetensorsEntry.FromFloats("w", values, 10, 100) });
        using var file = SafetensorsFile.Open(path);
        var tensor = file.Tensors.Single();
        var collected = new byte[tensor.Length];
        var offsets = new List<long>();
        file.ReadBytes(tensor, (span, offset) =>
        {
            offsets.Add(offset);
            span.CopyTo(collected.AsSpan((int)offset));
        }, maxChunk: 1024);
        Assert.Equal(new long[] { 0, 1024, 2048, 3072 }, offsets);
        Assert.Equal(values, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(collected).ToArray());
        Assert.Equal(values, TensorData.ReadFloat32(file, tensor));
    }

    [Fact]
    public void ExposesMetadataAndOffsets()
    {
        using var temp = new TempFolder();
        string path = temp.File("m.safetensors");
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode ✓" };
        SafetensorsWriter.Write(path, new[] { SafetensorsEntry.FromFloats("w", new float[] { 1, 2 }, 2) }, metadata);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(metadata.OrderBy(kv => kv.Key), file.Metadata.OrderBy(kv => kv.Key));
        var w = file.Tensors.Single();
        Assert.Equal(file.DataOffset, w.Offset);
        Assert.Equal(0, file.DataOffset % 8);
        Assert.Equal(new FileInfo(path).Length, w.Offset + w.Length);
    }

    [Fact]
    public void AcceptsEmptyTensorsAndAnEmptyHeader()
    {
        using var temp = new TempFolder();
        string path = temp.File("e.safetensors");
        SafetensorsWriter.Write(path, new[]
        {
            SafetensorsEntry.FromFloats("empty", Array.Empty<float>(), 0, 4),
            SafetensorsEntry.FromFloats("one", new float[] { 3 }, 1),
        });
        using (var file = SafetensorsFile.Open(path))
        {
            var empty = file.Find("empty")!;
            Assert.Equal(0, empty.Length);
            Assert.True(file.GetSpan(empty).IsEmpty);
            int calls = 0;
            file.ReadBytes(empty, (_, _) => calls++);
            Assert.Equal(0, calls);
            Assert.Empty(TensorData.ReadFloat32(file, empty));
        }

        string bare = temp.Write("bare.safetensors", RawSafetensors.Build("{}      ", 0));
        using var none = SafetensorsFile.Open(bare);
        Assert.Empty(none.Tensors);
        Assert.Empty(none.Metadata);
    }

    [Fact]
    public void RefusesTensorsOfAnotherSourceAndUseAfterDispose()
    {
        using var temp = new TempFolder();
        string p1 = temp.File("a.safetensors"), p2 = temp.File("b.safetensors");
        SafetensorsWriter.Write(p1, new[] { SafetensorsEntry.FromFloats("w", new float[] { 1, 2 }, 2) });
        SafetensorsWriter.Write(p2, new[] { SafetensorsEntry.FromFloats("w", new float[] { 1, 2, 3 }, 3) });
        var a = SafetensorsFile.Open(p1);
        using var b = SafetensorsFile.Open(p2);
        Assert.Throws<ArgumentException>(() => a.ReadBytes(b.Tensors[0], (_, _) => { }));
        var own = a.Tensors[0];
        a.Dispose();
        a.Dispose();
        Assert.Throws<ObjectDisposedException>(() => a.ReadBytes(own, (_, _) => { }));
    }
}
