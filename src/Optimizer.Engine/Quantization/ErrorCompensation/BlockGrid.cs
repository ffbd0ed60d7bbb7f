using System.Buffers.Binary;

namespace Optimizer.Engine.Quantization.ErrorCompensation;

/// <summary>
/// The value grid of one encoded ggml block once its scales are fixed, and a way to store one code without touching the
/// scales (docs/quantization.md "Error-compensating rounding"). Every supported type decodes element <c>k</c> as
/// <c>(q + c)·a[k] + b[k]</c> with an integer code <c>q</c> in <c>[0, qmax]</c> and a per-type constant <c>c</c> — in
/// the same float operations as ggml's <c>dequantize_row_*</c>, so <see cref="Value"/> is bit-identical to
/// <see cref="GgmlQuantizer.Dequantize"/>:
/// <list type="bullet">
/// <item>Q4_0 <c>(q−8)·d</c>, Q5_0 <c>(q−16)·d</c>, Q8_0 <c>(q−127)·d</c> (codes −127..127, never −128, which llama.cpp's
/// AVX dot products cannot negate);</item>
/// <item>Q4_1/Q5_1 <c>q·d + m</c>;</item>
/// <item>Q2_K/Q4_K/Q5_K <c>q·(d·sc) − dmin·m</c> per sub-block;</item>
/// <item>Q3_K <c>(q−4)·(d·sc)</c>, Q6_K <c>(q−32)·(d·sc)</c> per sub-block of 16.</item>
/// </list>
/// </summary>
internal static class BlockGrid
{
    /// <summary>Whether the type has a grid here (every quantized type the recipes use).</summary>
    public static bool Supports(GgmlType type) => type is GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0
        or GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>The constant <c>c</c> added to every code and the largest code, per type.</summary>
    public static (int Offset, int MaxCode) Codes(GgmlType type) => type switch
    {
        GgmlType.Q4_0 => (-8, 15),
        GgmlType.Q5_0 => (-16, 31),
        GgmlType.Q8_0 => (-127, 254),
        GgmlType.Q4_1 or GgmlType.Q4_K => (0, 15),
        GgmlType.Q5_1 or GgmlType.Q5_K => (0, 31),
        GgmlType.Q2_K => (0, 3),
        GgmlType.Q3_K => (-4, 7),
        GgmlType.Q6_K => (-32, 63),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "No block grid for this type."),
    };

    /// <summary>The decoded value of code <paramref name="q"/> at an element with grid step <paramref name="a"/> and shift <paramref name="b"/>.</summary>
    public static float Value(int q, int offset, float a, float b) => b == 0f ? (q + offset) * a : (q + offset) * a + b;

    /// <summary>
    /// The grid of one encoded block <paramref name="block"/>: per element the step <paramref name="a"/> and the shift
    /// <paramref name="b"/> (both of length <see cref="GgmlTypes.BlockSize"/>).
    /// </summary>
    public static void Grid(GgmlType type, ReadOnlySpan<byte> block, Span<float> a, Span<float> b)
    {
        switch (type)
        {
            case GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q8_0:
                a[..32].Fill(Half(block, 0));
                b[..32].Clear();
                break;
            case GgmlType.Q4_1 or GgmlType.Q5_1:
                a[..32].Fill(Half(block, 0));
                b[..32].Fill(Half(block, 2));
                break;
            case GgmlType.Q2_K:
            {
                float d = Half(block, 80), min = Half(block, 82);
                for (int s = 0; s < 16; s++)
                {
                    byte sc = block[s];
                    a.Slice(16 * s, 16).Fill(d * (sc & 0xF));
                    b.Slice(16 * s, 16).Fill(-(min * (sc >> 4)));
                }
                break;
            }
            case GgmlType.Q3_K:
            {
                ReadOnlySpan<byte> ys = block.Slice(96, 12);
                float d = Half(block, 108);
                for (int s = 0; s < 16; s++)
                {
                    int sc = s < 8 ? ys[s] & 0xF : ys[s - 8] >> 4;
                    sc = (sc | (((ys[8 + s % 4] >> (2 * (s / 4))) & 3) << 4)) - 32;
                    a.Slice(16 * s, 16).Fill(d * sc);
                }
                b[..256].Clear();
                break;
            }
            case GgmlType.Q4_K or GgmlType.Q5_K:
            {
                float d = Half(block, 0), min = Half(block, 2);
                ReadOnlySpan<byte> scales = block.Slice(4, 12);
                for (int s = 0; s < 8; s++)
                {
                    KQuantMath.GetScaleMinK4(s, scales, out byte sc, out byte m);
                    a.Slice(32 * s, 32).Fill(d * sc);
                    b.Slice(32 * s, 32).Fill(-(min * m));
                }
                break;
            }
            case GgmlType.Q6_K:
            {
                float d = Half(block, 208);
                // Sub-block s (elements 16·s … 16·s + 15) has scale byte s: dequantize_row_q6_K's sc[is + 2·quarter] of element
                // 128·n + 32·quarter + i is index 8·n + i/16 + 2·quarter = (128·n + 32·quarter + i) / 16.
                for (int s = 0; s < 16; s++) a.Slice(16 * s, 16).Fill(d * (sbyte)block[192 + s]);
                b[..256].Clear();
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "No block grid for this type.");
        }
    }

    /// <summary>The code stored for element <paramref name="k"/> of the block.</summary>
    public static int GetCode(GgmlType type, ReadOnlySpan<byte> block, int k)
    {
        switch (type)
        {
            case GgmlType.Q4_0: return Nibble(block, 2, k);
            case GgmlType.Q4_1: return Nibble(block, 4, k);
            case GgmlType.Q5_0: return Nibble(block, 6, k) | (int)((BinaryPrimitives.ReadUInt32LittleEndian(block[2..]) >> k) & 1) << 4;
            case GgmlType.Q5_1: return Nibble(block, 8, k) | (int)((BinaryPrimitives.ReadUInt32LittleEndian(block[4..]) >> k) & 1) << 4;
            case GgmlType.Q8_0: return (sbyte)block[2 + k] + 127;
            case GgmlType.Q2_K:
            {
                var (at, shift) = Q2Position(k);
                return (block[at] >> shift) & 3;
            }
            case GgmlType.Q3_K:
            {
                var (at, shift) = Q2Position(k);
                int low = (block[32 + at - 16] >> shift) & 3;
                var (hat, bit) = Q3HighBit(k);
                return low | (((block[hat] >> bit) & 1) << 2);
            }
            case GgmlType.Q4_K:
            {
                int chunk = k / 64, r = k % 64;
                byte v = block[16 + chunk * 32 + r % 32];
                return r < 32 ? v & 0xF : v >> 4;
            }
            case GgmlType.Q5_K:
            {
                int chunk = k / 64, r = k % 64;
                byte v = block[48 + chunk * 32 + r % 32];
                int low = r < 32 ? v & 0xF : v >> 4;
                int bit = 2 * chunk + (r < 32 ? 0 : 1);
                return low | (((block[16 + r % 32] >> bit) & 1) << 4);
            }
            case GgmlType.Q6_K:
            {
                var (lo, loHigh, hi, hiShift) = Q6Position(k);
                int low = loHigh ? block[lo] >> 4 : block[lo] & 0xF;
                return low | (((block[hi] >> hiShift) & 3) << 4);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "No block grid for this type.");
        }
    }

    /// <summary>Stores code <paramref name="q"/> (0 … max code) for element <paramref name="k"/>, leaving every other bit of the block as it is.</summary>
    public static void SetCode(GgmlType type, Span<byte> block, int k, int q)
    {
        switch (type)
        {
            case GgmlType.Q4_0:
                SetNibble(block, 2, k, q);
                break;
            case GgmlType.Q4_1:
                SetNibble(block, 4, k, q);
                break;
            case GgmlType.Q5_0:
                SetNibble(block, 6, k, q & 0xF);
                SetBit32(block[2..], k, q >> 4);
                break;
            case GgmlType.Q5_1:
                SetNibble(block, 8, k, q & 0xF);
                SetBit32(block[4..], k, q >> 4);
                break;
            case GgmlType.Q8_0:
                block[2 + k] = (byte)(sbyte)(q - 127);
                break;
            case GgmlType.Q2_K:
            {
                var (at, shift) = Q2Position(k);
                block[at] = (byte)((block[at] & ~(3 << shift)) | ((q & 3) << shift));
                break;
            }
            case GgmlType.Q3_K:
            {
                var (at, shift) = Q2Position(k);
                at += 16;
                block[at] = (byte)((block[at] & ~(3 << shift)) | ((q & 3) << shift));
                var (hat, bit) = Q3HighBit(k);
                block[hat] = (byte)((block[hat] & ~(1 << bit)) | (((q >> 2) & 1) << bit));
                break;
            }
            case GgmlType.Q4_K:
            {
                int chunk = k / 64, r = k % 64, at = 16 + chunk * 32 + r % 32;
                block[at] = r < 32 ? (byte)((block[at] & 0xF0) | (q & 0xF)) : (byte)((block[at] & 0x0F) | ((q & 0xF) << 4));
                break;
            }
            case GgmlType.Q5_K:
            {
                int chunk = k / 64, r = k % 64, at = 48 + chunk * 32 + r % 32;
                block[at] = r < 32 ? (byte)((block[at] & 0xF0) | (q & 0xF)) : (byte)((block[at] & 0x0F) | ((q & 0xF) << 4));
                int bit = 2 * chunk + (r < 32 ? 0 : 1), hat = 16 + r % 32;
                block[hat] = (byte)((block[hat] & ~(1 << bit)) | (((q >> 4) & 1) << bit));
                break;
            }
            case GgmlType.Q6_K:
            {
                var (lo, loHigh, hi, hiShift) = Q6Position(k);
                block[lo] = loHigh ? (byte)((block[lo] & 0x0F) | ((q & 0xF) << 4)) : (byte)((block[lo] & 0xF0) | (q & 0xF));
                block[hi] = (byte)((block[hi] & ~(3 << hiShift)) | (((q >> 4) & 3) << hiShift));
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "No block grid for this type.");
        }
    }

    private static float Half(ReadOnlySpan<byte> block, int at) => HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(block[at..]));

    /// <summary>Legacy blocks: element k &lt; 16 is the low nibble of byte k, element k ≥ 16 the high nibble of byte k − 16.</summary>
    private static int Nibble(ReadOnlySpan<byte> block, int qs, int k) => k < 16 ? block[qs + k] & 0xF : block[qs + k - 16] >> 4;

    private static void SetNibble(Span<byte> block, int qs, int k, int q)
    {
        if (k < 16) block[qs + k] = (byte)((block[qs + k] & 0xF0) | (q & 0xF));
        else block[qs + k - 16] = (byte)((block[qs + k - 16] & 0x0F) | ((q & 0xF) << 4));
    }

    private static void SetBit32(Span<byte> qh, int k, int bit)
    {
        uint h = BinaryPrimitives.ReadUInt32LittleEndian(qh);
        h = (h & ~(1u << k)) | ((uint)(bit & 1) << k);
        BinaryPrimitives.WriteUInt32LittleEndian(qh, h);
    }

    /// <summary>
    /// Q2_K (and Q3_K's low bits, 16 bytes earlier): element k = 128·n + 32·(shift/2) + r (r &lt; 32) sits in byte
    /// 16 + 32·n + r at bit <c>shift</c>.
    /// </summary>
    private static (int At, int Shift) Q2Position(int k)
    {
        int n = k / 128, r = k % 128;
        return (16 + 32 * n + r % 32, 2 * (r / 32));
    }

    /// <summary>Q3_K's third bit of element k: byte k % 32 of hmask, bit k / 32.</summary>
    private static (int At, int Bit) Q3HighBit(int k) => (k % 32, k / 32);

    /// <summary>
    /// Q6_K: element k = 128·n + 32·quarter + r sits in ql byte 64·n + r (+32 for odd quarters), low nibble for quarters
    /// 0/1 and high for 2/3, and in qh byte 128 + 32·n + r at bits 2·quarter.
    /// </summary>
    private static (int Lo, bool LoHigh, int Hi, int HiShift) Q6Position(int k)
    {
        int n = k / 128, r = k % 128, quarter = r / 32, i = r % 32;
        return (64 * n + i + (quarter % 2 == 1 ? 32 : 0), quarter >= 2, 128 + 32 * n + i, 2 * quarter);
    }
}
