using Optimizer.Engine.Quantization;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Optimizer.Engine.Transforms;

/// <summary>
/// The quantization a scale search optimizes for (docs/smoothing.md): every weight of the group goes through
/// <see cref="Weights"/> (null: kept in float), and with <see cref="ActivationBits"/> &gt; 0 the input is fake quantized
/// per tensor with a static range, as <c>Evaluation/ActivationFakeQuantizer</c> does: step = max|x| / (2^(b−1) − 1) with
/// max|x| the calibrated range of the (scaled) input, codes round(x / step) (half to even) clamped to ±(2^(b−1) − 1).
/// </summary>
/// <param name="Name">How the manifest names the target, e.g. <c>int8+a8-per-tensor-static</c>.</param>
/// <param name="Weights">The weight round trip.</param>
/// <param name="ActivationBits">0 (weight-only), or 8 / 4 for per-tensor static activations.</param>
internal sealed record SearchTarget(string Name, IWeightRoundTrip? Weights, int ActivationBits);

/// <summary>The outcome of one group's search: the chosen grid value, its scales and the sample errors.</summary>
/// <param name="Alpha">The grid value with the smallest error (the first on ties; 0 when no candidate beats s = 1 by more than a tie).</param>
/// <param name="Factors">Its scales (all 1 when the group is best left alone).</param>
/// <param name="Error">Σ squared output error of the group on the sample with those scales.</param>
/// <param name="BaselineError">The same without any scale (s = 1).</param>
internal sealed record SearchResult(double Alpha, double[] Factors, double Error, double BaselineError)
{
    /// <summary><see cref="Error"/> / <see cref="BaselineError"/> (1 when the baseline is 0).</summary>
    public double ErrorRatio => BaselineError > 0 ? Error / BaselineError : 1;
}

/// <summary>
/// Chooses a group's scales on a grid (docs/smoothing.md): for each grid value α the candidate scales s(α) are applied
/// (input ÷ s, weight columns × s), the group goes through the <see cref="SearchTarget"/>, and the error
/// Σ_linears ‖Q(X/s)·Q(W·diag(s))ᵀ − X·Wᵀ‖² on the calibration sample is measured against the unquantized output.
/// The smallest error wins, where errors within <see cref="TieTolerance"/> of the smallest count as ties that the
/// candidate first in order wins: the no-scale baseline (s = 1, α = 0) first, then the grid ascending. So a chosen
/// scale never measures worse than leaving the group alone, and last-bit differences of the calibration activations
/// between CPUs (docs/manifest.md, "Reproducibility") rarely change the choice. The products run in float64 (libtorch,
/// multi-threaded: an error sum may differ in its last bit between runs, far inside the tie band), and the scales of a
/// candidate depend only on the statistics and the weights, so the same inputs give the same choice and bit-identical
/// scales.
/// </summary>
internal static class ScaleSearch
{
    /// <summary>Relative error difference below which two candidates tie (0.1%).</summary>
    public const double TieTolerance = 1e-3;

    /// <summary>Searches <paramref name="grid"/>; <paramref name="candidate"/> gives the scales of one α (null: s = 1).</summary>
    public static SearchResult Search(SmoothingGroup group, IReadOnlyList<double> grid, Func<double, double[]?> candidate, SearchTarget target)
    {
        var evaluator = new Evaluator(group, target);
        var ones = LayerTransform.Ones(group.Width);
        double baseline = evaluator.Error(ones);
        var candidates = new List<(double Alpha, double[] Scales, double Error)> { (0, ones, baseline) };
        foreach (double alpha in grid)
        {
            double[]? scales = candidate(alpha);
            if (scales is not null) candidates.Add((alpha, scales, evaluator.Error(scales)));
        }
        double min = candidates.Min(c => c.Error);
        var (bestAlpha, best, bestError) = candidates.First(c => c.Error <= min * (1 + TieTolerance));
        return new SearchResult(bestAlpha, best, bestError, baseline);
    }

    /// <summary>Computes the group's sample error for given scales; the unquantized outputs are computed once.</summary>
    internal sealed class Evaluator
    {
        private readonly SmoothingGroup _group;
        private readonly SearchTarget _target;
        private readonly double[][] _reference;

        public Evaluator(SmoothingGroup group, SearchTarget target)
        {
            if (group.Rows == 0) throw new ArgumentException($"Layer {group.Layer} group {group.Name} has no calibration rows to measure on.", nameof(group));
            _group = group;
            _target = target;
            using var scope = NewDisposeScope();
            var x = new double[group.Input.Length];
            for (int k = 0; k < x.Length; k++) x[k] = group.Input[k];
            using Tensor input = tensor(x, new long[] { group.Rows, group.InputWidth });
            _reference = group.Linears.Select(linear => Product(input, ToDouble(linear.Weight), linear.Weight.Length / group.InputWidth)).ToArray();
        }

        /// <summary>Σ squared output error with scales <paramref name="scales"/> (one per scale channel); +∞ when the target cannot store the scaled weights.</summary>
        public double Error(double[] scales)
        {
            var g = _group;
            var perInput = new double[g.InputWidth];
            for (int i = 0; i < g.InputWidth; i++) perInput[i] = scales[g.ChannelOf[i]];
            var xq = new double[g.Input.Length];
            if (_target.ActivationBits > 0)
            {
                double range = 0;
                for (int i = 0; i < g.InputWidth; i++) range = Math.Max(range, g.InputMax[i] / Math.Abs(perInput[i]));
                int qmax = (1 << (_target.ActivationBits - 1)) - 1;
                float step = (float)(range / qmax);
                for (int r = 0; r < g.Rows; r++)
                {
                    for (int i = 0; i < g.InputWidth; i++)
                    {
                        float v = (float)(g.Input[r * g.InputWidth + i] / perInput[i]);
                        xq[r * g.InputWidth + i] = step == 0 ? 0 : Math.Clamp(MathF.Round(v / step, MidpointRounding.ToEven), -qmax, qmax) * step;
                    }
                }
            }
            else
            {
                for (int r = 0; r < g.Rows; r++)
                    for (int i = 0; i < g.InputWidth; i++) xq[r * g.InputWidth + i] = (float)(g.Input[r * g.InputWidth + i] / perInput[i]);
            }
            double error = 0;
            using var scope = NewDisposeScope();
            using Tensor input = tensor(xq, new long[] { g.Rows, g.InputWidth });
            for (int j = 0; j < g.Linears.Count; j++)
            {
                var linear = g.Linears[j];
                int outputs = linear.Weight.Length / g.InputWidth;
                var scaled = new float[linear.Weight.Length];
                for (int r = 0; r < outputs; r++)
                    for (int i = 0; i < g.InputWidth; i++) scaled[r * g.InputWidth + i] = (float)(linear.Weight[r * g.InputWidth + i] * perInput[i]);
                var restored = scaled;
                if (_target.Weights is { } weights)
                {
                    restored = new float[scaled.Length];
                    try
                    {
                        if (!weights.TryRoundTrip(linear.Name, scaled, outputs, g.InputWidth, restored)) restored = scaled;
                    }
                    catch (OptimizerException ex) when (ex.Code is ErrorCodes.IntQuantNonFinite or ErrorCodes.IntQuantScaleOverflow)
                    {
                        return double.PositiveInfinity; // the scaled weights cannot be stored in this format at all
                    }
                }
                double[] produced = Product(input, ToDouble(restored), outputs);
                double[] reference = _reference[j];
                for (int k = 0; k < produced.Length; k++)
                {
                    double d = produced[k] - reference[k];
                    error += d * d;
                }
            }
            return double.IsNaN(error) ? double.PositiveInfinity : error;
        }

        private static double[] ToDouble(float[] values)
        {
            var result = new double[values.Length];
            for (int k = 0; k < values.Length; k++) result[k] = values[k];
            return result;
        }

        /// <summary>input [rows, in] · Wᵀ ([outputs, in]) in float64, as a managed array [rows, outputs].</summary>
        private double[] Product(Tensor input, double[] weight, int outputs)
        {
            using Tensor w = tensor(weight, new long[] { outputs, _group.InputWidth });
            using Tensor y = F.linear(input, w);
            using Tensor c = y.contiguous();
            return c.data<double>().ToArray();
        }
    }
}
