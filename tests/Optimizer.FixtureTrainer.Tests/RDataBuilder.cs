using System.Buffers.Binary;
using System.IO.Compression;
using static Optimizer.FixtureTrainer.Tests.XdrWriter;

namespace Optimizer.FixtureTrainer.Tests;

/// <summary>Builds small R lazy-load databases (<c>.rdx</c> + <c>.rdb</c>) of character vectors for tests.</summary>
internal static class RDataBuilder
{
    /// <summary>Writes name → character vector objects as R's makeLazyLoadDB does (zlib blobs, compressed = TRUE).</summary>
    public static string Write(string basePath, (string Name, string[] Lines)[] objects, bool gzipIndex)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(basePath)!);
        using var rdb = new MemoryStream();
        var positions = new List<(int Offset, int Length)>();
        foreach (var (_, lines) in objects)
        {
            byte[] serialized = XdrWriter.WithHeader().Strings(lines).ToArray();
            byte[] blob = LengthPrefixedZlib(serialized);
            positions.Add(((int)rdb.Length, blob.Length));
            rdb.Write(blob);
        }
        File.WriteAllBytes(basePath + ".rdb", rdb.ToArray());

        var index = XdrWriter.WithHeader();
        index.Flags(Vec, HasAttr).Int32(3);
        index.Flags(Vec, HasAttr).Int32(objects.Length);
        foreach (var (offset, length) in positions) index.Flags(Int).Int32(2).Int32(offset).Int32(length);
        index.Flags(List, HasTag).Symbol("names").Strings(objects.Select(o => o.Name).ToArray()).Flags(Nil);
        index.Flags(Vec).Int32(0);
        index.Flags(Lgl).Int32(1).Int32(1);
        index.Flags(List, HasTag).Flags(Ref | (1 << 8)).Strings("variables", "references", "compressed").Flags(Nil);
        byte[] indexBytes = index.ToArray();
        File.WriteAllBytes(basePath + ".rdx", gzipIndex ? Gzip(indexBytes) : LengthPrefixedZlib(indexBytes));
        return basePath;
    }

    private static byte[] LengthPrefixedZlib(byte[] data)
    {
        using var output = new MemoryStream();
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        output.Write(length);
        using (var z = new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true)) z.Write(data);
        return output.ToArray();
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var z = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true)) z.Write(data);
        return output.ToArray();
    }
}
