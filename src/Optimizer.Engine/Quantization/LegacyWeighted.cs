using System.Runtime.Intrinsics;

namespace Optimizer.Engine.Quantization;

/// <summary>
/// The importance-matrix path shared by ggml's blocks-of-32 quantizers (<c>quantize_row_q4_0_impl</c>, <c>_q4_1_impl</c>,
/// <c>_q5_0_impl</c>, <c>_q5_1_impl</c>): per row σ² = Σx²/n (summed in element order), per block weights
/// <c>qw[j]·√(σ² + x[j]²)</c>, then one fit per block — <c>make_qx_quants</c> (rmse_type 1) for the symmetric types,
/// <c>make_qkx3_quants</c> (rmin −0.9, rdelta 0.05, 36 steps) for the ones with a min. The lane path fits 8 blocks per
/// Vector256, each lane running the scalar fit's operation sequence.
/// </summary>
internal static class LegacyWeighted
{
    private const int BlockSize = 32;

    /// <summary>The per-block fit a type uses.</summary>
    public enum Fit
    {
        /// <summary><c>make_qx_quants(32, 8, …)</c> (Q4_0).</summary>
        QxNmax8,

        /// <summary><c>make_qx_quants(32, 16, …)</c> (Q5_0).</summary>
        QxNmax16,

        /// <summary><c>make_qkx3_quants(32, 15, …)</c> (Q4_1).</summary>
        Qkx3Nmax15,

        /// <summary><c>make_qkx3_quants(32, 31, …)</c> (Q5_1).</summary>
        Qkx3Nmax31,
    }

    /// <summary>Writes one block from its fitted scale, −min (0 for the symmetric fits) and 32 codes.</summary>
    public delegate void StoreBlock(Span<byte> y, float d, float theMin, ReadOnlySpan<byte> l);

    /// <summary>Quantizes whole rows of <paramref name="importance"/>.Length values.</summary>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance, bool lanes,
        int blockBytes, Fit fit, StoreBlock store)
    {
        int cols = importance.Length;
        int rows = src.Length / cols;
        int blocks = cols / BlockSize;
        int nmax = fit switch { Fit.QxNmax8 => 8, Fit.QxNmax16 => 16, Fit.Qkx3Nmax15 => 15, _ => 31 };
        bool symmetric = fit is Fit.QxNmax8 or Fit.QxNmax16;
        Span<float> weights = stackalloc float[8 * BlockSize];
        Span<byte> l = stackalloc byte[8 * BlockSize];
        Span<byte> laux = stackalloc byte[BlockSize];
        Span<sbyte> sl = stackalloc sbyte[BlockSize];
        Span<float> scales = stackalloc float[8];
        Span<float> mins = stackalloc float[8];
        Span<Vector256<float>> vx = lanes ? stackalloc Vector256<float>[BlockSize] : default;
        Span<Vector256<float>> vw = lanes ? stackalloc Vector256<float>[BlockSize] : default;
        Span<Vector256<float>> vl = lanes ? stackalloc Vector256<float>[BlockSize] : default;
        Span<Vector256<float>> vaux = lanes ? stackalloc Vector256<float>[BlockSize] : default;
        Span<Vector256<int>> vq = lanes ? stackalloc Vector256<int>[BlockSize] : default;
        int rowBytes = blocks * blockBytes;
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> x = src.Slice(r * cols, cols);
            Span<byte> y = dst.Slice(r * rowBytes, rowBytes);
            float sumX2 = 0;
            for (int j = 0; j < cols; j++) sumX2 += x[j] * x[j];
            float sigma2 = sumX2 / cols;
            int step = lanes ? 8 : 1;
            for (int ib = 0; ib < blocks; ib += step)
            {
                int groups = Math.Min(step, blocks - ib);
                ReadOnlySpan<float> xs = x.Slice(ib * BlockSize, groups * BlockSize);
                ReadOnlySpan<float> qw = importance.Slice(ib * BlockSize, groups * BlockSize);
                for (int j = 0; j < groups * BlockSize; j++)
                    weights[j] = qw[j] * MathF.Sqrt(sigma2 + xs[j] * xs[j]);
                if (lanes)
                {
                    BlockQuantLanes.Transpose(xs, BlockSize, groups, vx);
                    BlockQuantLanes.Transpose(weights, BlockSize, groups, vw);
                    Vector256<float> d, m = Vector256<float>.Zero;
                    if (symmetric)
                    {
                        d = KQuantLanes.MakeQxQuants(nmax, vx, vw, vq);
                        BlockQuantLanes.Untranspose(vq, BlockSize, groups, l);
                    }
                    else
                    {
                        d = KQuantLanes.MakeQkx2Quants(nmax, vx, vw, vl, out m, vaux, -0.9f, 0.05f, 36, flatBelow: true);
                        BlockQuantLanes.Untranspose(vl, BlockSize, groups, l);
                    }
                    d.CopyTo(scales);
                    m.CopyTo(mins);
                }
                else if (symmetric)
                {
                    scales[0] = KQuantMath.MakeQxQuants(nmax, xs, weights[..BlockSize], sl);
                    mins[0] = 0f;
                    for (int j = 0; j < BlockSize; j++) l[j] = (byte)sl[j];
                }
                else
                {
                    scales[0] = KQuantMath.MakeQkx3Quants(nmax, xs, weights[..BlockSize], l[..BlockSize], out mins[0], laux, -0.9f, 0.05f, 36);
                }
                for (int g = 0; g < groups; g++)
                    store(y.Slice((ib + g) * blockBytes, blockBytes), scales[g], mins[g], l.Slice(g * BlockSize, BlockSize));
            }
        }
    }
}
