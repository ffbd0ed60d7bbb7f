using System.Buffers.Binary;
using System.IO.Compression;

namespace Optimizer.Tool.Tests;

/// <summary>The screenshot tests' PNG decoder against PNGs encoded here with every scanline filter.</summary>
public sealed class ReportPngImageTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(6)]
    [InlineData(0)]
    public void Decodes_every_filter_type(byte colorType)
    {
        const int width = 7, height = 10;
        int channels = colorType switch { 0 => 1, 2 => 3, _ => 4 };
        var random = new Random(42);
        byte[][] rows = Enumerable.Range(0, height).Select(_ =>
        {
            var row = new byte[width * channels];
            random.NextBytes(row);
            return row;
        }).ToArray();

        ReportPngImage image = ReportPngImage.Decode(Encode(width, height, colorType, channels, rows));

        Assert.Equal(width, image.Width);
        Assert.Equal(height, image.Height);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                byte[] r = rows[y];
                int expected = channels == 1
                    ? r[x] * 0x010101
                    : (r[x * channels] << 16) | (r[x * channels + 1] << 8) | r[x * channels + 2];
                Assert.Equal(expected, image.Pixel(x, y));
            }
        }
    }

    [Fact]
    public void Rejects_what_is_not_a_png()
    {
        Assert.Throws<InvalidDataException>(() => ReportPngImage.Decode(System.Text.Encoding.ASCII.GetBytes("<html></html>")));
    }

    /// <summary>Row y is written with filter y % 5 (None, Sub, Up, Average, Paeth).</summary>
    private static byte[] Encode(int width, int height, byte colorType, int channels, byte[][] rows)
    {
        int stride = width * channels;
        using var raw = new MemoryStream();
        byte[] above = new byte[stride];
        for (int y = 0; y < height; y++)
        {
            int filter = y % 5;
            raw.WriteByte((byte)filter);
            byte[] line = rows[y];
            for (int i = 0; i < stride; i++)
            {
                int a = i >= channels ? line[i - channels] : 0, b = above[i], c = i >= channels ? above[i - channels] : 0;
                int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                int predictor = filter switch
                {
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => pa <= pb && pa <= pc ? a : pb <= pc ? b : c,
                    _ => 0,
                };
                raw.WriteByte((byte)(line[i] - predictor));
            }
            above = line;
        }
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) raw.WriteTo(z);

        using var png = new MemoryStream();
        png.Write(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A });
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;
        header[9] = colorType;
        Chunk(png, "IHDR", header);
        byte[] data = compressed.ToArray();
        int half = data.Length / 2; // two IDAT chunks: the decoder must concatenate them
        Chunk(png, "IDAT", data[..half]);
        Chunk(png, "IDAT", data[half..]);
        Chunk(png, "IEND", Array.Empty<byte>());
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        png.Write(length);
        png.Write(System.Text.Encoding.ASCII.GetBytes(type));
        png.Write(data);
        png.Write(new byte[4]); // CRC: not checked by the decoder
    }
}
