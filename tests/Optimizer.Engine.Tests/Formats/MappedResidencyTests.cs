using System.Globalization;
using System.Runtime.InteropServices;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Quantization;
using Xunit;
using Xunit.Abstractions;

namespace Optimizer.Engine.Tests.Formats;

/// <summary>
/// Streaming a memory-mapped file through ReadBytes must not leave the file resident in the process: after each chunk
/// the pages wholly inside it are released (madvise MADV_DONTNEED on Linux). Residency is measured exactly, as the Rss
/// of this file's own mappings in /proc/self/smaps, so other allocations of the test process cannot blur it.
/// </summary>
public sealed class MappedResidencyTests
{
    private const int TensorCount = 16;
    private const int FloatsPerTensor = 1 << 20; // 4 MiB per tensor, 64 MiB in all
    private const int Chunk = 1 << 20;
    private static readonly long Page = Environment.SystemPageSize;

    private readonly ITestOutputHelper _output;

    public MappedResidencyTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void Safetensors_ReadBytes_over_a_64MB_file_keeps_its_pages_out_of_the_resident_set()
    {
        if (!OperatingSystem.IsLinux()) return; // residency advice and /proc/self/smaps exist on Linux only
        Assert.True(MappedRegion.IsSupported);
        using var temp = new TempFolder();
        string path = temp.File("model.safetensors");
        SafetensorsWriter.Write(path, Enumerable.Range(0, TensorCount)
            .Select(i => SafetensorsEntry.FromFloats($"t{i:D2}", Pattern(i, FloatsPerTensor), 1024, FloatsPerTensor / 1024)));
        long fileBytes = new FileInfo(path).Length;

        using var file = SafetensorsFile.Open(path);
        long before = MappingRss(path);
        var (peak, minInCallback) = ReadAll(path, file.Tensors, (t, action) => file.ReadBytes(t, action, Chunk));
        long after = MappingRss(path);

        // Reading every tensor again gives the same bytes (released pages fault back in from the file).
        _ = ReadAll(path, file.Tensors, (t, action) => file.ReadBytes(t, action, Chunk));
        long afterSecondPass = MappingRss(path);

        long spanRead = ReadAllThroughSpans(file);
        long withoutAdvice = MappingRss(path);
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"file {fileBytes / 1024} KiB; mapping Rss: before {before / 1024} KiB, peak during ReadBytes {peak / 1024} KiB, after ReadBytes {after / 1024} KiB, after 2nd pass {afterSecondPass / 1024} KiB; after GetSpan reads (no advice) {withoutAdvice / 1024} KiB (checksum {spanRead})"));

        // The meter sees mapped pages: inside the callback the chunk just read is resident.
        Assert.True(minInCallback >= Chunk - 2 * Page, $"A chunk being read should be resident, but only {minInCallback} bytes were.");
        Assert.True(peak <= 4L * Chunk, $"Peak residency {peak} bytes exceeds 4 chunks of {Chunk}.");
        Assert.True(after <= fileBytes / 16, $"After reading, {after} of {fileBytes} file bytes stay resident.");
        Assert.True(afterSecondPass <= fileBytes / 16, $"After a second pass, {afterSecondPass} of {fileBytes} file bytes stay resident.");
    }

    [Fact]
    public void Gguf_ReadBytes_keeps_its_pages_out_of_the_resident_set_and_returns_the_written_bytes()
    {
        if (!OperatingSystem.IsLinux()) return; // residency advice and /proc/self/smaps exist on Linux only
        using var temp = new TempFolder();
        string path = temp.File("model.gguf");
        var writer = new GgufWriter();
        writer.Add("general.architecture", "llama");
        const int count = 4;
        for (int i = 0; i < count; i++)
        {
            float[] data = Pattern(i, FloatsPerTensor);
            writer.AddTensor($"t{i:D2}", new long[] { FloatsPerTensor / 1024, 1024 }, GgmlType.F32,
                s => s.Write(MemoryMarshal.AsBytes(data.AsSpan())));
        }
        writer.Write(path);
        long fileBytes = new FileInfo(path).Length;

        using var file = GgufFile.Open(path);
        var infos = file.Tensors.Select(t => (t.Name, t.ByteCount, Tensor: t)).ToList();
        long peak = 0, minInCallback = long.MaxValue;
        foreach (var (name, byteCount, tensor) in infos)
        {
            float[] expected = Pattern(int.Parse(name.AsSpan(1), CultureInfo.InvariantCulture), FloatsPerTensor);
            long seen = 0;
            file.ReadBytes(tensor, (chunk, offset) =>
            {
                Assert.True(chunk.SequenceEqual(MemoryMarshal.AsBytes(expected.AsSpan()).Slice((int)offset, chunk.Length)),
                    $"Tensor {name} differs at chunk {offset}.");
                seen += chunk.Length;
                long rss = MappingRss(path);
                peak = Math.Max(peak, rss);
                minInCallback = Math.Min(minInCallback, rss);
            }, Chunk);
            Assert.Equal(byteCount, seen);
        }
        long after = MappingRss(path);
        _output.WriteLine($"gguf {fileBytes / 1024} KiB; mapping Rss peak {peak / 1024} KiB, after {after / 1024} KiB");

        Assert.True(minInCallback >= Chunk - 2 * Page, $"A chunk being read should be resident, but only {minInCallback} bytes were.");
        Assert.True(after <= fileBytes / 8, $"After reading, {after} of {fileBytes} file bytes stay resident.");
    }

    [Fact]
    public unsafe void Release_advises_only_the_whole_pages_inside_the_range()
    {
        if (!OperatingSystem.IsLinux()) return; // madvise exists on Linux only
        using var temp = new TempFolder();
        string path = temp.Write("pages.bin", Enumerable.Range(0, (int)(8 * Page)).Select(i => (byte)(i * 7)).ToArray());
        using var map = System.IO.MemoryMappedFiles.MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0,
            System.IO.MemoryMappedFiles.MemoryMappedFileAccess.Read);
        using var view = map.CreateViewAccessor(0, 0, System.IO.MemoryMappedFiles.MemoryMappedFileAccess.Read);
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        try
        {
            byte* start = pointer + view.PointerOffset; // page-aligned: the view starts at file offset 0
            Assert.Equal(0, (long)start % Page);
            Assert.Equal(0, MappedRegion.Release(start + 1, Page));          // no whole page inside
            Assert.Equal(0, MappedRegion.Release(start, Page - 1));          // shorter than a page
            Assert.Equal(Page, MappedRegion.Release(start + 1, 3 * Page - 2)); // only the middle page
            Assert.Equal(4 * Page, MappedRegion.Release(start + 2 * Page, 4 * Page));
            var bytes = new ReadOnlySpan<byte>(start, (int)(8 * Page));
            for (int i = 0; i < bytes.Length; i++)
                if (bytes[i] != (byte)(i * 7)) Assert.Fail($"Byte {i} changed after release.");
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
    }

    private static (long Peak, long MinInCallback) ReadAll(string path, IReadOnlyList<TensorInfo> tensors,
        Action<TensorInfo, ReadOnlySpanAction<byte, long>> read)
    {
        long peak = 0, minInCallback = long.MaxValue;
        foreach (var tensor in tensors)
        {
            float[] expected = Pattern(int.Parse(tensor.Name.AsSpan(1), CultureInfo.InvariantCulture), FloatsPerTensor);
            long seen = 0;
            read(tensor, (chunk, offset) =>
            {
                Assert.True(chunk.SequenceEqual(MemoryMarshal.AsBytes(expected.AsSpan()).Slice((int)offset, chunk.Length)),
                    $"Tensor {tensor.Name} differs at chunk {offset}.");
                seen += chunk.Length;
                if (offset % (4L * Chunk) == 0)
                {
                    long rss = MappingRss(path);
                    peak = Math.Max(peak, rss);
                    minInCallback = Math.Min(minInCallback, rss);
                }
            });
            Assert.Equal(tensor.Length, seen);
        }
        return (peak, minInCallback);
    }

    private static long ReadAllThroughSpans(SafetensorsFile file)
    {
        long sum = 0;
        foreach (var tensor in file.Tensors)
            foreach (byte b in file.GetSpan(tensor)) sum += b;
        return sum;
    }

    /// <summary>Deterministic, distinct values for tensor <paramref name="index"/>.</summary>
    private static float[] Pattern(int index, int count)
    {
        var data = new float[count];
        for (int i = 0; i < count; i++) data[i] = index * 1000f + (i % 4093) * 0.25f - (i % 17);
        return data;
    }

    /// <summary>The resident bytes of every mapping of <paramref name="path"/> in this process (/proc/self/smaps Rss).</summary>
    private static long MappingRss(string path)
    {
        string suffix = "/" + Path.GetFileName(Path.GetDirectoryName(path)) + "/" + Path.GetFileName(path);
        long total = 0;
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            int colon = line.IndexOf(':');
            bool isField = colon > 0 && colon < 32 && !line.AsSpan(0, colon).Contains('-') && !line.AsSpan(0, colon).Contains(' ');
            if (!isField)
            {
                inside = line.EndsWith(suffix, StringComparison.Ordinal);
                continue;
            }
            if (inside && line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                string kb = line.AsSpan(4).Trim().ToString();
                total += long.Parse(kb.AsSpan(0, kb.IndexOf(' ')), CultureInfo.InvariantCulture) * 1024;
            }
        }
        return total;
    }
}
