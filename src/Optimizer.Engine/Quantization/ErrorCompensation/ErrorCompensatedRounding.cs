using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Optimizer.Engine.Quantization.ErrorCompensation;

/// <summary>
/// GPTQ-style error-compensating rounding inside llama.cpp's own formats (docs/quantization.md "Error-compensating
/// rounding"). For a linear weight W [rows × cols] whose input has the Hessian <c>H = Σ x xᵀ</c> over the calibration
/// tokens, the columns are quantized left to right and each column's rounding error, divided by the diagonal of the
/// upper Cholesky factor U of <c>H⁻¹</c>, is subtracted from the columns not yet quantized in proportion to U's row
/// (Frantar et al., GPTQ, 2022: the optimal brain surgeon update). When a column starts a ggml block (32 values, or a
/// 256-value super-block of the K-quants), the block's scales are chosen by ggml's own quantizer of that type from the
/// block's current, already compensated values — the reference rule, or the importance-weighted search when
/// <c>importance</c> is given — and stay fixed; only the integer codes of the block are then chosen column by column
/// on that grid (<see cref="BlockGrid"/>). The result is an ordinary ggml encoding that llama.cpp reads unchanged.
/// Rows are independent and run in parallel in tiles that share each row of U; the result is deterministic.
/// </summary>
public static class ErrorCompensatedRounding
{
    /// <summary>GPTQ's default damping: λ = 1% of the mean diagonal of H added to the diagonal.</summary>
    public const double DefaultDamping = 0.01;

    /// <summary>Rows quantized together (they share each loaded row of U).</summary>
    private const int TileRows = 8;

    /// <summary>Whether <paramref name="type"/> can be written with compensated codes for a weight with <paramref name="cols"/> columns.</summary>
    public static bool Supports(GgmlType type, long cols) => BlockGrid.Supports(type) && cols > 0 && cols % GgmlTypes.BlockSize(type) == 0;

    /// <summary>
    /// The upper Cholesky factor U of <c>(H + λ·mean(diag H)·I)⁻¹</c> (row-major, float32) for the symmetric
    /// <paramref name="hessian"/> [n × n] (float64, row-major; modified: dead columns get a diagonal of 1; the damping is added
    /// to a copy). If the damped matrix is not positive definite, λ is multiplied by 10 up to four times; returns null when it
    /// never is. <paramref name="usedDamping"/> is the λ that worked.
    /// </summary>
    public static float[]? InverseFactor(double[] hessian, int n, double damping, out double usedDamping)
    {
        ArgumentNullException.ThrowIfNull(hessian);
        if (hessian.Length != (long)n * n) throw new ArgumentException($"The Hessian has {hessian.Length} values, not {n}².", nameof(hessian));
        ArgumentOutOfRangeException.ThrowIfNegative(damping);
        double mean = 0;
        for (int i = 0; i < n; i++)
        {
            double d = hessian[(long)i * n + i];
            if (!(d > 0))
            {
                // A column no calibration token ever reaches: its rounding error costs nothing and moves nothing.
                for (int j = 0; j < n; j++) hessian[(long)i * n + j] = hessian[(long)j * n + i] = 0;
                hessian[(long)i * n + i] = 1;
            }
            mean += hessian[(long)i * n + i];
        }
        mean /= Math.Max(1, n);
        usedDamping = damping;
        for (int attempt = 0; attempt < 5; attempt++, usedDamping *= 10)
        {
            float[]? factor = Factor(hessian, n, usedDamping * mean);
            if (factor is not null) return factor;
        }
        return null;
    }

    /// <summary>
    /// The upper factor of (H + add·I)⁻¹, or null when not positive definite. Every n² intermediate is freed as soon as
    /// the next exists, so at most two float64 n² tensors are alive besides <paramref name="hessian"/> itself.
    /// </summary>
    private static float[]? Factor(double[] hessian, int n, double add)
    {
        using var noGrad = no_grad();
        Tensor? lower;
        using (Tensor h = torch.tensor(hessian, new long[] { n, n }, ScalarType.Float64))
        {
            using (Tensor diagonal = h.diagonal())
            using (Scalar added = add.ToScalar())
            using (Scalar one = 1.ToScalar())
                diagonal.add_(added, one);
            lower = Cholesky(h);
        }
        if (lower is null) return null;
        Tensor inverse;
        using (lower) inverse = cholesky_inverse(lower);
        Tensor? inverseLower;
        // H⁻¹ = L Lᵀ, so its upper factor (H⁻¹ = Uᵀ U) is U = Lᵀ.
        using (inverse) inverseLower = Cholesky(inverse);
        if (inverseLower is null) return null;
        float[] values;
        using (inverseLower)
        using (Tensor upper = inverseLower.t())
        using (Tensor single = upper.to(ScalarType.Float32))
        using (Tensor contiguous = single.contiguous())
            values = contiguous.data<float>().ToArray();
        foreach (float v in values)
            if (!float.IsFinite(v)) return null;
        for (int i = 0; i < n; i++)
            if (!(values[(long)i * n + i] > 0)) return null;
        return values;
    }

    /// <summary>The lower Cholesky factor of <paramref name="matrix"/>, or null when it is not positive definite.</summary>
    private static Tensor? Cholesky(Tensor matrix)
    {
        var (lower, info) = linalg.cholesky_ex(matrix);
        using (info)
        {
            if (info.item<int>() == 0) return lower;
        }
        lower.Dispose();
        return null;
    }

    /// <summary>
    /// Quantizes the row-major <paramref name="weights"/> [<paramref name="rows"/> × <paramref name="cols"/>] to
    /// <paramref name="type"/> with compensated codes, given the inverse factor from <see cref="InverseFactor"/>.
    /// <paramref name="importance"/> (one value per column, or empty) selects ggml's importance-weighted scale search per
    /// block instead of the reference rule. Returns the encoded rows (exactly <see cref="GgmlQuantizer.RowBytes"/> each).
    /// </summary>
    public static byte[] Quantize(GgmlType type, ReadOnlySpan<float> weights, int rows, int cols, float[] inverseFactor,
        ReadOnlySpan<float> importance, CancellationToken ct = default)
    {
        if (!Supports(type, cols))
            throw new OptimizerException(ErrorCodes.QuantizationShapeInvalid,
                $"Error-compensating rounding cannot write {GgmlTypes.Name(type)} rows of {cols} values.");
        ArgumentNullException.ThrowIfNull(inverseFactor);
        if (weights.Length != (long)rows * cols) throw new ArgumentException($"{weights.Length} weights for {rows} × {cols}.", nameof(weights));
        if (inverseFactor.Length != (long)cols * cols) throw new ArgumentException("The inverse factor is not cols × cols.", nameof(inverseFactor));
        if (!importance.IsEmpty && importance.Length != cols) throw new ArgumentException("One importance value per column is needed.", nameof(importance));
        int rowBytes = checked((int)GgmlQuantizer.RowBytes(type, cols));
        var output = new byte[(long)rows * rowBytes];
        float[] source = weights.ToArray();
        float[]? weightsOfColumns = importance.IsEmpty ? null : importance.ToArray();
        int tiles = (rows + TileRows - 1) / TileRows;
        var options = new ParallelOptions { CancellationToken = ct };
        Parallel.For(0, tiles, options, tile =>
        {
            int first = tile * TileRows, count = Math.Min(TileRows, rows - first);
            QuantizeTile(type, source.AsSpan(first * cols, count * cols), count, cols, inverseFactor, weightsOfColumns,
                output.AsSpan(first * rowBytes, count * rowBytes), rowBytes, ct);
        });
        return output;
    }

    private static void QuantizeTile(GgmlType type, Span<float> w, int count, int cols, float[] u, float[]? importance, Span<byte> output,
        int rowBytes, CancellationToken ct)
    {
        int blockSize = GgmlTypes.BlockSize(type), blockBytes = GgmlTypes.BlockBytes(type);
        var (offset, maxCode) = BlockGrid.Codes(type);
        var a = new float[count * blockSize];
        var b = new float[count * blockSize];
        Span<float> errors = stackalloc float[TileRows];
        for (int k = 0; k < cols; k++)
        {
            int inBlock = k % blockSize;
            if (inBlock == 0)
            {
                if ((k / blockSize) % 64 == 0) ct.ThrowIfCancellationRequested();
                for (int r = 0; r < count; r++)
                {
                    Span<byte> block = output.Slice(r * rowBytes + k / blockSize * blockBytes, blockBytes);
                    ReadOnlySpan<float> values = w.Slice(r * cols + k, blockSize);
                    if (importance is null) GgmlQuantizer.Quantize(type, values, block);
                    else GgmlQuantizer.Quantize(type, values, block, importance.AsSpan(k, blockSize));
                    BlockGrid.Grid(type, block, a.AsSpan(r * blockSize, blockSize), b.AsSpan(r * blockSize, blockSize));
                }
            }
            float diagonal = u[(long)k * cols + k];
            for (int r = 0; r < count; r++)
            {
                Span<byte> block = output.Slice(r * rowBytes + k / blockSize * blockBytes, blockBytes);
                float x = w[r * cols + k];
                float step = a[r * blockSize + inBlock], shift = b[r * blockSize + inBlock];
                int q;
                if (step == 0f)
                {
                    q = BlockGrid.GetCode(type, block, inBlock);
                }
                else
                {
                    double ideal = Math.Round((x - shift) / (double)step) - offset;
                    q = (int)Math.Clamp(ideal, 0, maxCode);
                    BlockGrid.SetCode(type, block, inBlock, q);
                }
                float restored = BlockGrid.Value(q, offset, step, shift);
                errors[r] = (x - restored) / diagonal;
            }
            if (k + 1 == cols) break;
            ReadOnlySpan<float> uRow = u.AsSpan((int)((long)k * cols + k + 1), cols - k - 1);
            for (int r = 0; r < count; r++)
            {
                if (errors[r] != 0f) SubtractScaled(w.Slice(r * cols + k + 1, cols - k - 1), uRow, errors[r]);
            }
        }
    }

    /// <summary><c>y −= e·x</c>, vectorized.</summary>
    private static void SubtractScaled(Span<float> y, ReadOnlySpan<float> x, float e)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && y.Length >= Vector<float>.Count)
        {
            var ve = new Vector<float>(e);
            Span<Vector<float>> vy = MemoryMarshal.Cast<float, Vector<float>>(y);
            ReadOnlySpan<Vector<float>> vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            for (int v = 0; v < vy.Length; v++) vy[v] -= ve * vx[v];
            i = vy.Length * Vector<float>.Count;
        }
        for (; i < y.Length; i++) y[i] -= e * x[i];
    }
}
