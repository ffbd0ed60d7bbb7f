using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// Q3_K super-blocks (<c>block_q3_K</c>: 32 bytes hmask (the third bit), 64 bytes of 2-bit codes, 12 bytes of 6-bit
/// scales, fp16 d). Without an importance matrix bit-identical to ggml's <c>quantize_row_q3_K_ref</c>: sixteen
/// sub-blocks of 16 fitted with <c>make_q3_quants</c> (nmax 4, refined), scales quantized to 6 bits against the one of
/// largest magnitude (−32/max), codes recomputed from them. With one, to <c>quantize_row_q3_K_impl</c>: weights
/// <c>qw·√(σ² + x²)</c> (σ² twice the super-block's mean square) for <c>make_qx_quants(16, 4, …)</c>, and the scales
/// fitted by <c>make_qx_quants(16, 32, …)</c> weighted by the sub-blocks' weight sums.
/// </summary>
internal static class Q3_KKernel
{
    public const int BlockSize = 256;
    public const int BlockBytes = 110;

    /// <summary>Quantizes whole super-blocks; fits the 16 sub-blocks 8 at a time in Vector256 lanes where the hardware has it.</summary>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst) => Quantize(src, dst, Vector256.IsHardwareAccelerated);

    /// <summary>Quantizes whole super-blocks with the lane-parallel fit (<paramref name="lanes"/>) or the scalar one.</summary>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst, bool lanes) => Run(src, dst, default, lanes);

    /// <summary>Quantizes whole rows of <paramref name="importance"/>.Length values with the imatrix fit.</summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance) =>
        QuantizeWeighted(src, dst, importance, Vector256.IsHardwareAccelerated);

    /// <summary>The imatrix fit with the lane-parallel sub-block fits (<paramref name="lanes"/>) or the scalar ones.</summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance, bool lanes) =>
        Run(src, dst, importance, lanes);

    private static void Run(ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance, bool lanes)
    {
        bool weighted = !importance.IsEmpty;
        int blocksPerRow = weighted ? importance.Length / BlockSize : 1;
        Span<sbyte> l = stackalloc sbyte[BlockSize];
        Span<float> weights = stackalloc float[BlockSize];
        Span<float> scales = stackalloc float[16];
        Span<float> sw = stackalloc float[16];
        Span<sbyte> ls = stackalloc sbyte[16];
        Span<Vector256<float>> vx = lanes ? stackalloc Vector256<float>[16] : default;
        Span<Vector256<float>> vw = lanes ? stackalloc Vector256<float>[16] : default;
        Span<Vector256<int>> vl = lanes ? stackalloc Vector256<int>[16] : default;
        int blocks = src.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<float> x = src.Slice(i * BlockSize, BlockSize);
            Span<byte> y = dst.Slice(i * BlockBytes, BlockBytes);
            Span<byte> ys = y.Slice(96, 12);
            ys.Clear();
            if (!weighted)
            {
                if (lanes)
                {
                    for (int first = 0; first < 16; first += 8)
                    {
                        BlockQuantLanes.Transpose(x.Slice(16 * first, 128), 16, 8, vx);
                        KQuantLanes.MakeQ3Quants(4, vx, vl).CopyTo(scales[first..]);
                        BlockQuantLanes.Untranspose(vl, 16, 8, MemoryMarshal.AsBytes(l.Slice(16 * first, 128)));
                    }
                }
                else
                {
                    for (int j = 0; j < 16; j++)
                        scales[j] = KQuantMath.MakeQ3Quants(4, x.Slice(16 * j, 16), l.Slice(16 * j, 16));
                }
                float maxScale = 0, amax = 0;
                for (int j = 0; j < 16; j++)
                {
                    float scale = MathF.Abs(scales[j]);
                    if (scale > amax)
                    {
                        amax = scale;
                        maxScale = scales[j];
                    }
                }
                if (maxScale != 0f)
                {
                    float iscale = -32f / maxScale;
                    for (int j = 0; j < 16; j++)
                    {
                        sbyte q = (sbyte)KQuantMath.NearestInt(iscale * scales[j]);
                        PackScale(ys, j, Math.Max(-32, Math.Min(31, (int)q)) + 32);
                    }
                    BinaryPrimitives.WriteUInt16LittleEndian(y[108..], HalfPrecision.ToFp16(1 / iscale));
                }
                else
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(y[108..], HalfPrecision.ToFp16(0f));
                }
            }
            else
            {
                ReadOnlySpan<float> qw = importance.Slice(i % blocksPerRow * BlockSize, BlockSize);
                float sumX2 = 0;
                for (int k = 0; k < BlockSize; k++) sumX2 += x[k] * x[k];
                float sigma2 = 2 * sumX2 / BlockSize;
                for (int k = 0; k < BlockSize; k++) weights[k] = qw[k] * MathF.Sqrt(sigma2 + x[k] * x[k]);
                for (int j = 0; j < 16; j++)
                {
                    float s = 0;
                    for (int k = 0; k < 16; k++) s += weights[16 * j + k];
                    sw[j] = s;
                }
                if (lanes)
                {
                    for (int first = 0; first < 16; first += 8)
                    {
                        BlockQuantLanes.Transpose(x.Slice(16 * first, 128), 16, 8, vx);
                        BlockQuantLanes.Transpose(weights.Slice(16 * first, 128), 16, 8, vw);
                        KQuantLanes.MakeQxQuants(4, vx, vw, vl).CopyTo(scales[first..]);
                        BlockQuantLanes.Untranspose(vl, 16, 8, MemoryMarshal.AsBytes(l.Slice(16 * first, 128)));
                    }
                }
                else
                {
                    for (int j = 0; j < 16; j++)
                        scales[j] = KQuantMath.MakeQxQuants(4, x.Slice(16 * j, 16), weights.Slice(16 * j, 16), l.Slice(16 * j, 16));
                }
                float dBlock = KQuantMath.MakeQxQuants(32, scales, sw, ls);
                for (int j = 0; j < 16; j++) PackScale(ys, j, ls[j]);
                BinaryPrimitives.WriteUInt16LittleEndian(y[108..], HalfPrecision.ToFp16(dBlock));
            }
            Finish(x, y, l, lanes);
        }
    }

    /// <summary>Stores the 6-bit scale code <paramref name="q"/> (0..63) of sub-block <paramref name="j"/>.</summary>
    private static void PackScale(Span<byte> ys, int j, int q)
    {
        if (j < 8)
            ys[j] = (byte)(q & 0xF);
        else
            ys[j - 8] |= (byte)((q & 0xF) << 4);
        q >>= 4;
        ys[j % 4 + 8] |= (byte)(q << (2 * (j / 4)));
    }

    /// <summary>The signed scale of sub-block <paramref name="j"/> (−32..31) from the 12 packed bytes.</summary>
    private static int Scale(ReadOnlySpan<byte> ys, int j)
    {
        int sc = j < 8 ? ys[j] & 0xF : ys[j - 8] >> 4;
        return (sc | (((ys[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
    }

    /// <summary>Codes recomputed from the stored scales, then the high bits into hmask and the low 2 bits into qs.</summary>
    private static void Finish(ReadOnlySpan<float> x, Span<byte> y, Span<sbyte> l, bool lanes)
    {
        ReadOnlySpan<byte> ys = y.Slice(96, 12);
        float dAll = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(y[108..]));
        for (int j = 0; j < 16; j++)
        {
            float d = dAll * Scale(ys, j);
            if (d == 0f) continue;
            if (lanes)
            {
                KQuantLanes.Requantize(x.Slice(16 * j, 16), 0f, d, -4, 3, 4, MemoryMarshal.AsBytes(l.Slice(16 * j, 16)));
                continue;
            }
            for (int k = 0; k < 16; k++)
            {
                int q = KQuantMath.NearestInt(x[16 * j + k] / d);
                l[16 * j + k] = (sbyte)(Math.Max(-4, Math.Min(3, q)) + 4);
            }
        }

        // ggml: for j in 0..255, if (L[j] > 3) { hmask[j % 32] |= 1 << (j / 32); L[j] -= 4; }, then 4 codes per qs byte.
        // Codes are 0..7 here, so "> 3" is bit 2 (done without branches: they are unpredictable).
        Span<byte> hmask = y[..32];
        Span<byte> qs = y.Slice(32, 64);
        ReadOnlySpan<byte> codes = MemoryMarshal.AsBytes(l);
        if (lanes)
        {
            Vector256<byte> three = Vector256.Create((byte)3), one = Vector256.Create((byte)1);
            Vector256<byte> h = Vector256<byte>.Zero;
            for (int s = 0; s < 8; s++)
                h |= Vector256.ShiftLeft(Vector256.ShiftRightLogical(Vector256.Create(codes.Slice(32 * s, 32)), 2) & one, s);
            h.CopyTo(hmask);
            for (int j = 0; j < BlockSize; j += 128)
            {
                Vector256<byte> a = Vector256.Create(codes.Slice(j, 32)) & three, b = Vector256.Create(codes.Slice(j + 32, 32)) & three;
                Vector256<byte> c = Vector256.Create(codes.Slice(j + 64, 32)) & three, d = Vector256.Create(codes.Slice(j + 96, 32)) & three;
                (a | Vector256.ShiftLeft(b, 2) | Vector256.ShiftLeft(c, 4) | Vector256.ShiftLeft(d, 6)).CopyTo(qs.Slice(j / 4, 32));
            }
            return;
        }
        hmask.Clear();
        for (int j = 0; j < BlockSize; j++)
        {
            int v = l[j];
            hmask[j & 31] |= (byte)(((v >> 2) & 1) << (j >> 5));
            l[j] = (sbyte)(v & 3);
        }
        for (int j = 0, o = 0; j < BlockSize; j += 128, o += 32)
        {
            for (int k = 0; k < 32; k++)
                qs[o + k] = (byte)(codes[j + k] | (codes[j + k + 32] << 2) | (codes[j + k + 64] << 4) | (codes[j + k + 96] << 6));
        }
    }

    /// <summary><c>dequantize_row_q3_K</c>: <c>x = d·(scale − 32)·(q − (high bit ? 0 : 4))</c> per sub-block of 16.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = dst.Length / BlockSize;
        for (int i = 0; i < blocks; i++)
        {
            ReadOnlySpan<byte> b = src.Slice(i * BlockBytes, BlockBytes);
            ReadOnlySpan<byte> hm = b[..32];
            ReadOnlySpan<byte> ys = b.Slice(96, 12);
            float dAll = HalfPrecision.FromFp16(BinaryPrimitives.ReadUInt16LittleEndian(b[108..]));
            Span<float> y = dst.Slice(i * BlockSize, BlockSize);
            int o = 0, s = 0;
            int mask = 1;
            for (int n = 0, qo = 32; n < BlockSize; n += 128, qo += 32)
            {
                for (int shift = 0; shift < 8; shift += 2, mask <<= 1)
                {
                    for (int half = 0; half < 32; half += 16)
                    {
                        float dl = dAll * Scale(ys, s++);
                        for (int k = 0; k < 16; k++)
                            y[o++] = dl * (((b[qo + half + k] >> shift) & 3) - ((hm[half + k] & mask) != 0 ? 0 : 4));
                    }
                }
            }
        }
    }
}
