using System.Buffers.Binary;
using System.IO.Compression;

namespace Optimizer.Tool.Tests;

/// <summary>
/// A minimal PNG decoder for the screenshot tests: 8-bit grayscale, gray+alpha, RGB and RGBA, not interlaced; the
/// IDAT stream is inflated with <see cref="ZLibStream"/> and all five scanline filters are undone. Pixels are RGB.
/// </summary>
public sealed class ReportPngImage
{
    private static readonly byte[] Signature = { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A };
    private readonly byte[] _rgb;

    private ReportPngImage(int width, int height, byte[] rgb)
    {
        Width = width;
        Height = height;
        _rgb = rgb;
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>The color of pixel (x, y) as 0xRRGGBB.</summary>
    public int Pixel(int x, int y)
    {
        int i = (y * Width + x) * 3;
        return (_rgb[i] << 16) | (_rgb[i + 1] << 8) | _rgb[i + 2];
    }

    public static ReportPngImage Decode(byte[] png)
    {
        if (png.Length < 8 || !png.AsSpan(0, 8).SequenceEqual(Signature)) throw new InvalidDataException("Not a PNG file.");
        int width = 0, height = 0, channels = 0;
        using var idat = new MemoryStream();
        for (int at = 8; at + 8 <= png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = System.Text.Encoding.ASCII.GetString(png, at + 4, 4);
            ReadOnlySpan<byte> data = png.AsSpan(at + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                byte depth = data[8], colorType = data[9], interlace = data[12];
                channels = colorType switch { 0 => 1, 2 => 3, 4 => 2, 6 => 4, _ => 0 };
                if (depth != 8 || channels == 0 || interlace != 0)
                    throw new InvalidDataException($"Unsupported PNG: depth {depth}, color type {colorType}, interlace {interlace}.");
            }
            else if (type == "IDAT")
            {
                idat.Write(data);
            }
            else if (type == "IEND")
            {
                break;
            }
            at += 12 + length;
        }
        if (width <= 0 || height <= 0) throw new InvalidDataException("The PNG has no IHDR.");

        int stride = width * channels;
        byte[] raw = new byte[(stride + 1) * height];
        idat.Position = 0;
        using (var z = new ZLibStream(idat, CompressionMode.Decompress))
        {
            z.ReadExactly(raw);
        }
        byte[] previous = new byte[stride], current = new byte[stride];
        byte[] rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            int filter = raw[y * (stride + 1)];
            Array.Copy(raw, y * (stride + 1) + 1, current, 0, stride);
            Unfilter(filter, current, previous, channels);
            for (int x = 0; x < width; x++)
            {
                int p = x * channels, o = (y * width + x) * 3;
                if (channels <= 2)
                {
                    rgb[o] = rgb[o + 1] = rgb[o + 2] = current[p];
                }
                else
                {
                    rgb[o] = current[p];
                    rgb[o + 1] = current[p + 1];
                    rgb[o + 2] = current[p + 2];
                }
            }
            (previous, current) = (current, previous);
        }
        return new ReportPngImage(width, height, rgb);
    }

    private static void Unfilter(int filter, byte[] line, byte[] above, int bpp)
    {
        for (int i = 0; i < line.Length; i++)
        {
            int a = i >= bpp ? line[i - bpp] : 0, b = above[i], c = i >= bpp ? above[i - bpp] : 0;
            int predictor = filter switch
            {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => Paeth(a, b, c),
                _ => throw new InvalidDataException($"Unknown PNG filter {filter}."),
            };
            line[i] = (byte)(line[i] + predictor);
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
